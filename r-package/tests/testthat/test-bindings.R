# The generated wrappers: one per public core function, same argument names, no drift.

test_that("the DESIGN.md names exist with the same keywords as Python", {
  exports <- getNamespaceExports("m2mauth")
  for (name in c("m2m_token", "m2m_fetch_token", "req_auth_m2m", "m2m_inspect", "m2m_explain", "m2m_sign_jwt")) {
    expect_true(name %in% exports, label = name)
  }
  expect_identical(names(formals(m2m_inspect))[1:2], c("jwt", "profile"))
  expect_identical(names(formals(m2m_sign_jwt))[1:2], c("claims", "key"))
  expect_identical(names(formals(m2m_token))[1:2], c("profile", "..."))
  expect_identical(names(formals(req_auth_m2m)), c("req", "profile", "..."))
  expect_identical(m2m_token, m2m_fetch_token)
})

test_that("every public function of the core has an exported wrapper with its arguments", {
  skip_if_no_core()
  inspect <- reticulate::import("inspect")
  mod <- m2mauth:::core()
  functions <- core_public_functions()
  expect_true(all(c("fetch_token", "inspect", "explain", "sign_jwt") %in% functions))
  if ("login" %in% functions) {
    expect_true("m2m_login" %in% getNamespaceExports("m2mauth"))
  }
  builtins <- reticulate::import_builtins()
  for (name in functions) {
    r_name <- paste0("m2m_", name)
    expect_true(r_name %in% getNamespaceExports("m2mauth"), label = r_name)
    signature <- inspect$signature(reticulate::py_get_attr(mod, name))
    parameters <- builtins$list(signature$parameters$values())
    python_args <- character()
    for (parameter in parameters) {
      # Through py_get_attr(): reticulate >= 1.46 converts int-like enums such as the kind to R
      # integers, so parameter$kind$name fails there.
      kind <- reticulate::py_get_attr(parameter, "kind")
      if (!identical(m2mauth:::py_attr(kind, "name"), "VAR_KEYWORD")) {
        python_args <- c(python_args, parameter$name)
      }
    }
    r_args <- as.character(setdiff(names(formals(get(r_name, envir = asNamespace("m2mauth")))), "..."))
    expect_identical(r_args, python_args, label = r_name)
    expect_gt(length(do.call(utils::help, list(r_name, package = "m2mauth"))), 0, label = paste(r_name, "help"))
  }
})

test_that("the committed wrappers are what the generator writes today", {
  skip_if_no_core()
  spec <- spec_dir()
  skip_if(is.null(spec), "the repository was not found: set M2MAUTH_REPO")
  tool <- file.path(dirname(spec), "python", "tools", "gen_r_bindings.py")
  skip_if_not(file.exists(tool), "python/tools/gen_r_bindings.py not found")
  result <- run_python(c(shQuote(tool), "--check"))
  expect_equal(result$status, 0L, info = result$output)
  installed <- deparse(m2m_sign_jwt)
  committed <- readLines(file.path(dirname(spec), "r-package", "R", "generated-bindings.R"))
  expect_true(any(grepl("^m2m_sign_jwt <- function\\(claims, key", committed)))
  expect_match(paste(installed, collapse = "\n"), "m2m_call(\"sign_jwt\"", fixed = TRUE)
})
