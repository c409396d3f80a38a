# The non-OAuth token services from R (issue 12), against the core's local provider: a USGS M2M
# API key presented as X-Auth-Token through req_auth_m2m() + m2m_req_perform(), and an Earthdata
# Login token from find_or_create_token.

provider_credentials <- function(provider, profile) {
  jsonlite::read_json(provider$credentials_file)[[profile]]
}

test_that("m2m_token() gets a USGS M2M API key presented as X-Auth-Token", {
  skip_if_no_core()
  provider <- local_provider()
  usgs <- provider_credentials(provider, "usgs-m2m")
  token <- m2m_token(
    "usgs-m2m",
    username = usgs$username, application_token = usgs$application_token,
    token_url = provider$token_urls[["usgs-m2m"]]
  )
  expect_identical(token$header_name, "X-Auth-Token")
  expect_identical(token$token_type, "")
  left <- as.numeric(token$expires_at) - as.numeric(Sys.time())
  expect_true(left > 7000 && left <= 7200)
  shown <- capture.output(print(token), str(token))
  expect_false(any(grepl(token$access_token, shown, fixed = TRUE)))
})

test_that("req_auth_m2m() requests carry X-Auth-Token, not Authorization", {
  skip_if_no_core()
  provider <- local_provider()
  usgs <- provider_credentials(provider, "usgs-m2m")
  req <- httr2::req_timeout(httr2::request(provider$usgs_api_url), 10)
  req <- req_auth_m2m(
    req, "usgs-m2m",
    username = usgs$username, application_token = usgs$application_token,
    token_url = provider$token_urls[["usgs-m2m"]]
  )
  resp <- m2m_req_perform(req)
  body <- httr2::resp_body_json(resp)
  expect_null(body$errorCode)
  expect_equal(body$data$totalHits, 1)
  again <- httr2::resp_body_json(m2m_req_perform(req))
  expect_null(again$errorCode)
  expect_equal(attr(req, "m2mauth")$fetched, 1L)
  # Without the key the API says so in its envelope.
  bare <- httr2::resp_body_json(httr2::req_perform(httr2::req_timeout(httr2::request(provider$usgs_api_url), 10)))
  expect_identical(bare$errorCode, "AUTH_UNAUTHORIZED")
})

test_that("m2m_token() gets an Earthdata Login bearer token with Basic credentials", {
  skip_if_no_core()
  provider <- local_provider()
  edl <- provider_credentials(provider, "earthdata")
  token <- m2m_token(
    "earthdata",
    username = edl$username, password = edl$password, token_url = provider$token_urls[["earthdata"]]
  )
  expect_identical(token$token_type, "Bearer")
  expect_identical(token$header_name, "Authorization")
  resp <- httr2::req_perform(httr2::req_auth_bearer_token(httr2::request(provider$resource_url), token$access_token))
  expect_equal(httr2::resp_status(resp), 200)
})
