# The cdse and sentinel-hub profiles from R (issue 11), against the core's local provider
# (python -m m2mauth.testing on 127.0.0.1): a CDSE account's password grant, a two-factor account's
# totp (passed through ... as in Python), the hint for a missing code, and a Sentinel Hub dashboard
# client from sentinelhub-py's environment variables, with httr2 requests through req_auth_m2m().

current_totp <- function(seed) {
  testing <- reticulate::import("m2mauth.testing")
  testing$totp_code(seed, as.numeric(Sys.time()))
}

resource_status <- function(provider, token) {
  resp <- httr2::req_perform(httr2::req_timeout(
    httr2::req_headers(httr2::request(provider$resource_url), Authorization = paste("Bearer", token$access_token)),
    10
  ))
  httr2::resp_status(resp)
}

test_that("a CDSE account gets a 10-minute token with its password; the password is never shown", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  cdse <- jsonlite::read_json(provider$credentials_file)$cdse
  token <- m2m_token("cdse",
    username = cdse$username, password = cdse$password, token_url = provider$token_urls$cdse
  )
  expect_s3_class(token, "m2mauth_token")
  expect_equal(resource_status(provider, token), 200)
  left <- as.numeric(token$expires_at) - as.numeric(Sys.time())
  expect_true(left > 500 && left <= 600)
  shown <- capture.output(print(token), str(token))
  expect_false(any(grepl(cdse$password, shown, fixed = TRUE)))
})

test_that("a two-factor account needs totp; without it the hint names both causes", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  cdse <- jsonlite::read_json(provider$credentials_file)$cdse
  url <- provider$token_urls$cdse
  refused <- tryCatch(
    m2m_token("cdse", username = cdse$two_factor_username, password = cdse$two_factor_password, token_url = url),
    m2mauth_error = function(cnd) cnd
  )
  expect_s3_class(refused, "m2mauth_error_invalid_grant")
  text <- conditionMessage(refused)
  expect_match(text, "Invalid user credentials", fixed = TRUE)
  expect_match(text, "totp", fixed = TRUE)
  expect_match(text, "password", fixed = TRUE)
  expect_false(grepl(cdse$two_factor_password, text, fixed = TRUE))

  token <- m2m_token("cdse",
    username = cdse$two_factor_username, password = cdse$two_factor_password,
    totp = current_totp(cdse$two_factor_totp_secret), token_url = url
  )
  expect_equal(resource_status(provider, token), 200)
})

test_that("req_auth_m2m() with a CDSE account reuses one token (one session)", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  cdse <- jsonlite::read_json(provider$credentials_file)$cdse
  req <- req_auth_m2m(
    httr2::req_timeout(httr2::request(provider$resource_url), 10), "cdse",
    username = cdse$username, password = cdse$password, token_url = provider$token_urls$cdse
  )
  for (i in 1:3) expect_equal(httr2::resp_status(httr2::req_perform(req)), 200)
  expect_equal(attr(req, "m2mauth")$fetched, 1L)
})

test_that("a Sentinel Hub client comes from SH_CLIENT_ID and SH_CLIENT_SECRET", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  hub <- jsonlite::read_json(provider$credentials_file)[["sentinel-hub"]]
  # Set before R starts Python, as in a user's ~/.Renviron: another R process (Python reads its
  # environment once, when it starts).
  code <- sprintf(
    "token <- m2mauth::m2m_token('sentinel-hub', token_url = '%s'); cat('TOKEN', token$access_token)",
    provider$token_urls[["sentinel-hub"]]
  )
  out <- run_r(code, env = c(
    paste0("SH_CLIENT_ID=", shQuote(hub$client_id)), paste0("SH_CLIENT_SECRET=", shQuote(hub$client_secret)),
    paste0("M2MAUTH_PYTHON=", shQuote(core_python())), paste0("PYTHONPATH=", shQuote(Sys.getenv("PYTHONPATH")))
  ))
  found <- regmatches(out, regexpr("TOKEN [A-Za-z0-9_-]+", out))
  expect_length(found, 1)
  expect_equal(resource_status(provider, list(access_token = sub("TOKEN ", "", found))), 200)
  expect_false(grepl(hub$client_secret, out, fixed = TRUE))
  basic <- m2m_token("sentinel-hub",
    client_id = hub$client_id, client_secret = hub$client_secret,
    auth_method = "client_secret_basic", token_url = provider$token_urls[["sentinel-hub"]]
  )
  expect_equal(resource_status(provider, basic), 200)
  wrong <- tryCatch(
    m2m_token("sentinel-hub",
      client_id = hub$client_id, client_secret = "not-the-secret", token_url = provider$token_urls[["sentinel-hub"]]
    ),
    m2mauth_error = function(cnd) cnd
  )
  expect_s3_class(wrong, "m2mauth_error_invalid_client")
  expect_match(conditionMessage(wrong), "dashboard", fixed = TRUE)
})
