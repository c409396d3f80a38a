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
  expect_match(out, "-m pip install \"m2mauth==", fixed = TRUE)
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
