# Helpers for tests that go into the Python core or run the local provider.

core_python <- function() Sys.getenv("M2MAUTH_PYTHON")

skip_if_no_core <- function() {
  if (!nzchar(core_python())) {
    skip("M2MAUTH_PYTHON is not set: round trips into the Python core need a Python with m2mauth")
  }
}

skip_if_no_spec <- function() {
  if (is.null(spec_dir())) {
    skip("the spec folder was not found: set M2MAUTH_REPO to the repository root")
  }
}

fixture <- function(...) testthat::test_path("fixtures", ...)

seed_grant <- function() readLines(fixture("clms-seed-grant.txt"), n = 1, warn = FALSE)

# The local provider for the calling test, stopped (by pid) when the test ends.
local_provider <- function(lifetime = 3600, env = parent.frame(), ...) {
  provider <- m2m_local_provider(lifetime = lifetime, timeout = 30, ...)
  withr::defer(m2m_local_provider_stop(provider), envir = env)
  provider
}

# Another R process, for what must not happen in this one (starting Python with another setup).
run_r <- function(code, env = character(), timeout = 120) {
  rscript <- file.path(R.home("bin"), "Rscript")
  libs <- paste(.libPaths(), collapse = .Platform$path.sep)
  out <- suppressWarnings(system2(
    rscript, c("--vanilla", "-e", shQuote(code)),
    stdout = TRUE, stderr = TRUE, timeout = timeout,
    env = c(paste0("R_LIBS=", shQuote(libs)), env)
  ))
  paste(out, collapse = "\n")
}

# A Python child gets the library path without R's own folders (see python_library_path()).
run_python <- function(args, timeout = 120) {
  env <- paste0("LD_LIBRARY_PATH=", shQuote(m2mauth:::python_library_path()))
  out <- suppressWarnings(system2(
    core_python(), args,
    stdout = TRUE, stderr = TRUE, timeout = timeout, env = env
  ))
  list(status = attr(out, "status") %||% 0L, output = paste(out, collapse = "\n"))
}

# The core's names, to compare the generated wrappers against.
core_public_functions <- function() {
  mod <- reticulate::import("m2mauth")
  inspect <- reticulate::import("inspect")
  names <- setdiff(reticulate::py_to_r(reticulate::py_get_attr(mod, "__all__")), "__version__")
  is_function <- vapply(names, function(name) {
    value <- tryCatch(reticulate::py_get_attr(mod, name), error = function(e) NULL)
    !is.null(value) && isTRUE(inspect$isfunction(value))
  }, logical(1))
  names[is_function]
}

# A request to `url` (default: the provider's resource) authenticated with req_auth_m2m() for CLMS.
clms_request <- function(provider, url = provider$resource_url, ...) {
  req_auth_m2m(httr2::req_timeout(httr2::request(url), 10), "clms", service_key = provider$service_key_file, ...)
}
