# Classed conditions: built here from the fields the core gives, without Python.

test_that("a core config error becomes m2mauth_error_<code> < m2mauth_config_error < m2mauth_error", {
  info <- list(
    ok = FALSE, family = "config", code = "key_algorithm_mismatch",
    message = "this RSA 2048-bit private key cannot sign HS256",
    hint = "Sign with RS256.", python_class = "ConfigError"
  )
  cnd <- m2mauth:::core_condition(info, quote(m2m_sign_jwt(claims, key = "secret.pem")))
  expect_s3_class(cnd, "m2mauth_error_key_algorithm_mismatch")
  expect_s3_class(cnd, "m2mauth_config_error")
  expect_s3_class(cnd, "m2mauth_error")
  expect_s3_class(cnd, "error")
  expect_equal(cnd$code, "key_algorithm_mismatch")
  expect_equal(cnd$hint, "Sign with RS256.")
  expect_equal(cnd$call, quote(m2m_sign_jwt()))
  expect_match(conditionMessage(cnd), "cannot sign HS256\nHint: Sign with RS256.", fixed = TRUE)
  expect_error(stop(cnd), class = "m2mauth_error_key_algorithm_mismatch")
})

test_that("a token endpoint error carries status, RFC error and the provider's code", {
  info <- list(
    ok = FALSE, family = "token_endpoint", code = "invalid_request", provider_code = "body_not_form_encoded",
    message = "the token endpoint answered HTTP 400 invalid_request: Missing 'grant_type'",
    hint = "Send the body form-encoded.", status = 400L, error = "invalid_request",
    error_description = "Missing 'grant_type'"
  )
  cnd <- m2mauth:::core_condition(info)
  expect_equal(
    class(cnd)[1:5],
    c(
      "m2mauth_error_body_not_form_encoded", "m2mauth_error_invalid_request",
      "m2mauth_token_endpoint_error", "m2mauth_error", if (requireNamespace("rlang", quietly = TRUE)) "rlang_error" else "error"
    )
  )
  expect_equal(cnd$status, 400L)
  expect_equal(cnd$error_description, "Missing 'grant_type'")
  expect_snapshot(cat(conditionMessage(cnd)))
})

test_that("transport errors and unexpected Python exceptions are classed too", {
  transport <- m2mauth:::core_condition(list(family = "transport", code = "timeout", message = "no answer"))
  expect_s3_class(transport, "m2mauth_transport_error")
  expect_s3_class(transport, "m2mauth_error_timeout")
  internal <- m2mauth:::core_condition(list(family = "internal", code = "python_exception", message = "TypeError"))
  expect_s3_class(internal, "m2mauth_error_python_exception")
  expect_false(inherits(internal, "m2mauth_config_error"))
})

test_that("a condition never shows the arguments of the call (they may hold secrets)", {
  cnd <- m2mauth:::new_condition(
    "boom", "m2mauth_error",
    call = quote(m2m_token("clms", client_secret = "do-not-show-me"))
  )
  shown <- paste(capture.output(print(cnd)), conditionMessage(cnd), collapse = "\n")
  expect_false(grepl("do-not-show-me", shown, fixed = TRUE))
  expect_equal(cnd$call, quote(m2m_token()))
})

test_that("the Python-not-found condition is one class with the command to run", {
  cnd <- tryCatch(
    m2mauth:::abort_python(
      "M2MAUTH_PYTHON is set to '/nowhere/python', but there is no such Python.",
      fix = c("Run:", "  m2mauth::install_m2mauth()"),
      reason = "python_not_found"
    ),
    error = function(e) e
  )
  expect_s3_class(cnd, "m2mauth_python_error")
  expect_s3_class(cnd, "m2mauth_error")
  expect_equal(cnd$code, "python_not_found")
  expect_snapshot(cat(conditionMessage(cnd)))
})

test_that("wrong argument types are caught in R before Python is needed", {
  expect_error(m2m_token("clms", "positional"), class = "m2mauth_error_invalid_argument")
  expect_error(m2m_token("clms", flow = 1), class = "m2mauth_config_error")
  expect_error(m2m_token("clms", timeout = "soon"), class = "m2mauth_error_invalid_argument")
  expect_error(m2m_token("clms", verify = NA), class = "m2mauth_error_invalid_argument")
  expect_error(m2m_sign_jwt(list("no", "names"), "key.pem"), class = "m2mauth_error_invalid_argument")
  expect_error(m2m_sign_jwt(list(iss = "me"), "key.pem", alg = 256), class = "m2mauth_error_invalid_argument")
  expect_error(m2m_inspect(42), class = "m2mauth_error_invalid_argument")
  expect_error(m2m_inspect("a.b.c", now = "today"), class = "m2mauth_error_invalid_argument")
  expect_error(m2m_explain("{}", status = 400.5), class = "m2mauth_error_invalid_argument")
  expect_error(m2m_make_assertion("key", issuer = "me", audience = 1), class = "m2mauth_error_invalid_argument")
  expect_error(req_auth_m2m("https://example.org", "clms"), class = "m2mauth_error_invalid_argument")
  expect_error(req_auth_m2m(httr2::request("https://example.org")), class = "m2mauth_error_invalid_argument")
  expect_error(m2m_local_provider(lifetime = "long"), class = "m2mauth_error_invalid_argument")
  expect_error(install_m2mauth(envname = 1), class = "m2mauth_error_invalid_argument")
  expect_snapshot(m2m_token("clms", flow = 1), error = TRUE)
  expect_snapshot(m2m_token("clms", "land-copernicus.json"), error = TRUE)
})

test_that("simple R values pass the checks", {
  fits <- m2mauth:::arg_fits
  expect_true(fits("clms", "string"))
  expect_true(fits(3600, "int"))
  expect_true(fits(3600L, "int"))
  expect_true(fits(Sys.time(), "int"))
  expect_false(fits(1.5, "int"))
  expect_true(fits(c("a", "b"), "strings"))
  expect_true(fits(TRUE, "flag_or_string"))
  expect_true(fits("/etc/ssl/ca.pem", "flag_or_string"))
  expect_true(fits(list(iss = "me", iat = 1), "mapping"))
  expect_true(fits(list(), "mapping"))
  expect_false(fits(list(1, 2), "mapping"))
  expect_true(fits(charToRaw("secret"), "string_or_raw"))
})

test_that("req_auth_m2m() builds a request without starting anything", {
  req <- req_auth_m2m(httr2::request("https://example.org/data"), "clms", service_key = "key.json")
  expect_s3_class(req, "httr2_request")
  handle <- attr(req, "m2mauth")
  expect_true(is.environment(handle))
  expect_null(handle$token)
  same <- req_auth_m2m(httr2::request("https://example.org/other"), "clms", service_key = "key.json")
  expect_identical(attr(same, "m2mauth"), handle)
  other <- req_auth_m2m(httr2::request("https://example.org/data"), "clms", service_key = "other.json")
  expect_false(identical(attr(other, "m2mauth"), handle))
  stdout <- capture.output(stderr <- capture.output(print(req), type = "message"))
  printed <- paste(c(stdout, stderr), collapse = "\n")
  expect_match(printed, "example.org", fixed = TRUE)
  expect_false(grepl("key.json", printed, fixed = TRUE))
})

test_that("the refresh margin is 30 s or 10 % of the lifetime, at most half of it", {
  margin <- m2mauth:::refresh_margin
  expect_equal(margin(3600), 360)
  expect_equal(margin(120), 30)
  expect_equal(margin(4), 2)
  expect_equal(margin(NULL), 30)
  expect_equal(margin(3600, margin = 10), 10)
  now <- as.POSIXct("2026-01-01 00:00:00", tz = "UTC")
  token <- m2mauth:::new_token("t", expires_at = now + 3600, issued_at = now)
  fresh <- m2mauth:::token_is_fresh
  expect_true(fresh(token, now = now + 3000))
  expect_false(fresh(token, now = now + 3300))
  expect_false(fresh(NULL))
  expect_true(fresh(m2mauth:::new_token("t")))
})
