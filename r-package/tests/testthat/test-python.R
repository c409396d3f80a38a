# Finding Python, in separate R processes (a started Python cannot be swapped in this one).

test_that("library(m2mauth) does not start Python", {
  out <- run_r(
    "t <- system.time(library(m2mauth))[['elapsed']]; cat('started:', reticulate::py_available(initialize = FALSE), '\\n')",
    env = "M2MAUTH_PYTHON=/nonexistent/python"
  )
  expect_match(out, "started: FALSE", fixed = TRUE)
})

test_that("a wrong M2MAUTH_PYTHON gives one classed error saying what to run", {
  code <- paste(
    "library(m2mauth)",
    "cnd <- tryCatch(m2m_list_profiles(), error = function(e) e)",
    "cat('class:', class(cnd)[1], '\\n'); cat(conditionMessage(cnd), '\\n')",
    "again <- tryCatch(m2m_token('clms', service_key = 'k.json'), error = function(e) e)",
    "cat('again:', class(again)[1], '\\n')",
    sep = "; "
  )
  out <- run_r(code, env = "M2MAUTH_PYTHON=/nonexistent/python")
  expect_match(out, "class: m2mauth_python_error", fixed = TRUE)
  expect_match(out, "M2MAUTH_PYTHON is set to '/nonexistent/python'", fixed = TRUE)
  expect_match(out, "m2mauth::install_m2mauth()", fixed = TRUE)
  expect_match(out, "again: m2mauth_python_error", fixed = TRUE)
})

fake_core <- function(init) {
  dir <- withr::local_tempdir(.local_envir = parent.frame())
  dir.create(file.path(dir, "m2mauth"))
  writeLines(init, file.path(dir, "m2mauth", "__init__.py"))
  dir
}

test_that("a core of another version gives one classed error saying what to run", {
  skip_if_no_core()
  dir <- fake_core("__version__ = '0.0.0-other'")
  code <- paste(
    "library(m2mauth)",
    "cnd <- tryCatch(m2m_list_profiles(), error = function(e) e)",
    "cat('class:', class(cnd)[1], '\\n'); cat('code:', cnd$code, '\\n'); cat(conditionMessage(cnd), '\\n')",
    sep = "; "
  )
  out <- run_r(code, env = c(paste0("M2MAUTH_PYTHON=", core_python()), paste0("PYTHONPATH=", dir)))
  expect_match(out, "class: m2mauth_python_error", fixed = TRUE)
  expect_match(out, "code: version_mismatch", fixed = TRUE)
  expect_match(out, "is m2mauth 0.0.0-other, but this R package is", fixed = TRUE)
  # What to run: pip install of the core this package bundles (or, built without one, PyPI's).
  wanted <- m2mauth:::bundled_core() %||% paste0("m2mauth==", packageVersion("m2mauth"))
  expect_match(out, paste0("-m pip install ", shQuote(wanted)), fixed = TRUE)
  expect_match(out, "restart R", fixed = TRUE)
})

test_that("a Python whose core does not import gives the same classed error", {
  skip_if_no_core()
  dir <- fake_core("raise ImportError('broken on purpose')")
  code <- paste(
    "library(m2mauth)",
    "cnd <- tryCatch(m2m_token('clms', service_key = 'k.json'), error = function(e) e)",
    "cat('class:', class(cnd)[1], '\\n'); cat('code:', cnd$code, '\\n'); cat(conditionMessage(cnd), '\\n')",
    sep = "; "
  )
  out <- run_r(code, env = c(paste0("M2MAUTH_PYTHON=", core_python()), paste0("PYTHONPATH=", dir)))
  expect_match(out, "class: m2mauth_python_error", fixed = TRUE)
  expect_match(out, "code: core_not_installed", fixed = TRUE)
  expect_match(out, "broken on purpose", fixed = TRUE)
})

test_that("the core's version is this package's version", {
  skip_if_no_core()
  mod <- m2mauth:::core()
  expect_identical(m2mauth:::py_attr(mod, "__version__"), as.character(packageVersion("m2mauth")))
})

test_that("with no Python set up, the error is m2mauth's own, before reticulate makes one", {
  # reticulate >= 1.41 would otherwise download uv and build a temporary environment without the
  # core (offline: "Downloading uv... cannot open URL", then "Python could not be started").
  home <- withr::local_tempdir()
  code <- paste(
    "Sys.unsetenv(c('RETICULATE_PYTHON', 'RETICULATE_PYTHON_ENV', 'RETICULATE_PYTHON_FALLBACK', 'VIRTUAL_ENV'))",
    "setwd(Sys.getenv('HOME'))",
    "library(m2mauth)",
    "cnd <- tryCatch(m2m_list_profiles(), error = function(e) e)",
    "cat('class:', class(cnd)[1], '\\n'); cat('code:', cnd$code, '\\n'); cat(conditionMessage(cnd), '\\n')",
    "cat('started:', reticulate::py_available(initialize = FALSE), '\\n')",
    sep = "; "
  )
  out <- run_r(code, env = c(
    "M2MAUTH_PYTHON=", paste0("HOME=", home), paste0("WORKON_HOME=", file.path(home, "venvs")),
    "PATH=/usr/bin:/bin"
  ), timeout = 120)
  expect_match(out, "class: m2mauth_python_error", fixed = TRUE)
  expect_match(out, "m2mauth::install_m2mauth()", fixed = TRUE)
  expect_no_match(out, "uv", fixed = TRUE)
  if (packageVersion("reticulate") >= "1.41") {
    expect_match(out, "code: python_not_found", fixed = TRUE)
    expect_match(out, "No Python is set up for m2mauth", fixed = TRUE)
    expect_match(out, "started: FALSE", fixed = TRUE)
  }
})
