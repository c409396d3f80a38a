# Print methods, with objects made in R (no Python): tokens never show their secrets.

fake_token <- function() {
  issued <- as.POSIXct("2026-01-01 00:00:00", tz = "UTC")
  m2mauth:::new_token(
    access_token = "eyJhbGciOiJSUzI1NiJ9.ACCESS-SECRET.sig",
    token_type = "Bearer",
    expires_at = issued + 3600,
    refresh_token = "REFRESH-SECRET",
    scope = "openid offline_access",
    issued_at = issued
  )
}

test_that("a token prints redacted, whatever prints it", {
  token <- fake_token()
  shown <- c(
    capture.output(print(token)),
    capture.output(token),
    capture.output(str(token)),
    format(token),
    as.character(token),
    capture.output(print(list(token = token)))
  )
  expect_false(any(grepl("SECRET", shown, fixed = TRUE)))
  expect_true(any(grepl("<redacted>", shown, fixed = TRUE)))
  expect_equal(token$access_token, "eyJhbGciOiJSUzI1NiJ9.ACCESS-SECRET.sig")
})

test_that("a token shows its expiry", {
  token <- fake_token()
  now <- as.POSIXct("2026-01-01 00:59:00", tz = "UTC")
  expect_snapshot(cat(format(token, now = now), sep = "\n"))
  expect_snapshot(cat(format(token, now = now + 120), sep = "\n"))
  expect_match(format(m2mauth:::new_token("x"))[[1]], "no expiry given")
})

test_that("a diagnosis prints each finding with its fix", {
  diagnosis <- m2mauth:::new_diagnosis(
    header = list(typ = "JWT", alg = "HS256", `alg.1` = "RS256"),
    claims = list(iss = "client"),
    findings = data.frame(
      code = c("duplicate_alg_header", "hmac_instead_of_rsa", "unknown_header_member"),
      severity = c("error", "error", "warning"),
      message = c("two 'alg' values", "signed HS256 (HMAC) but clms only accepts RS256", "odd member"),
      hint = c("Sign with the RSA key.", "Sign with RS256.", NA),
      stringsAsFactors = FALSE
    ),
    header_json = "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"alg.1\":\"RS256\"}",
    claims_json = "{\"iss\":\"client\"}"
  )
  expect_false(diagnosis$ok)
  expect_snapshot(print(diagnosis))
  clean <- m2mauth:::new_diagnosis(header_json = "{}", claims_json = "{}")
  expect_true(clean$ok)
  expect_snapshot(print(clean))
})

test_that("an explanation prints the fix", {
  explanation <- m2mauth:::new_explanation(
    code = "body_not_form_encoded",
    message = "the token endpoint answered HTTP 400 invalid_request: Missing 'grant_type'",
    hint = "Send grant_type and assertion form-encoded (httr2::req_body_form()).",
    status = 400L,
    error = "invalid_request",
    error_description = "Missing 'grant_type'"
  )
  expect_snapshot(print(explanation))
})
