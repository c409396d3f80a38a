# The project's R test runner (nox -s r):
#   M2MAUTH_PYTHON=<python with m2mauth> R_LIBS=<lib with m2mauth installed> M2MAUTH_REPO=<repo> \
#     Rscript r-package/tests/run-tests.R
# Runs testthat against the installed package and prints one line "R: N passed, N failed, N skipped"
# (counting tests). Exits non-zero on any failure or error, and when nothing passed, so a run in
# which Python was not found cannot pass by skipping everything.

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)][1])
here <- if (is.na(script)) file.path("r-package", "tests") else dirname(normalizePath(script))
test_dir <- file.path(here, "testthat")
if (!nzchar(Sys.getenv("M2MAUTH_REPO"))) {
  Sys.setenv(M2MAUTH_REPO = normalizePath(file.path(here, "..", "..")))
}

Sys.setenv(NOT_CRAN = "true") # run the snapshot tests too
testthat::set_max_fails(Inf)
results <- testthat::test_dir(
  test_dir,
  load_package = "installed",
  package = "m2mauth",
  reporter = testthat::ProgressReporter$new(show_praise = FALSE),
  stop_on_failure = FALSE,
  stop_on_warning = FALSE
)

table <- as.data.frame(results)
broken <- table$failed > 0 | table$error
skipped <- table$skipped & !broken
passed <- !broken & !skipped
counts <- c(passed = sum(passed), failed = sum(broken), skipped = sum(skipped))
cat(sprintf("R: %d passed, %d failed, %d skipped\n", counts[["passed"]], counts[["failed"]], counts[["skipped"]]))
if (counts[["skipped"]] > 0 && !nzchar(Sys.getenv("M2MAUTH_PYTHON"))) {
  cat("(M2MAUTH_PYTHON is not set: the tests that go into the Python core were skipped)\n")
}
if (counts[["failed"]] > 0 || counts[["passed"]] == 0) {
  quit(status = 1)
}
