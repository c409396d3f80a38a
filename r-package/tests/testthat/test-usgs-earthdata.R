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

usgs_request <- function(provider, url = provider$usgs_api_url) {
  usgs <- provider_credentials(provider, "usgs-m2m")
  req_auth_m2m(
    httr2::req_timeout(httr2::request(url), 10), "usgs-m2m",
    username = usgs$username, application_token = usgs$application_token,
    token_url = provider$token_urls[["usgs-m2m"]]
  )
}

test_that("httr2::req_perform() sends X-Auth-Token where httr2 signs at send time, and refuses otherwise", {
  skip_if_no_core()
  provider <- local_provider()
  req <- usgs_request(provider)
  handle <- attr(req, "m2mauth")
  httr2_version <- utils::packageVersion("httr2")
  if (httr2_version >= "1.3.0") expect_true(handle$signs_at_send)
  if (httr2_version < "1.0.0") expect_false(handle$signs_at_send)
  if (isTRUE(handle$signs_at_send)) {
    body <- httr2::resp_body_json(httr2::req_perform(req))
    expect_null(body$errorCode) # the emulated API answers AUTH_UNAUTHORIZED when X-Auth-Token is missing
    expect_equal(body$data$totalHits, 1)
    expect_equal(handle$fetched, 1L)
  } else {
    # httr2 0.2.2 can only write Authorization: Bearer: a clear error, not a request the API ignores.
    expect_error(httr2::req_perform(req), class = "m2mauth_error_presentation_needs_m2m_req_perform")
    cnd <- tryCatch(httr2::req_perform(req), m2mauth_error = function(cnd) cnd)
    expect_match(cnd$hint, "m2m_req_perform", fixed = TRUE)
    expect_false(grepl(handle$token$access_token, conditionMessage(cnd), fixed = TRUE))
  }
  # Either way m2m_req_perform() sends it, reusing the key already fetched.
  body <- httr2::resp_body_json(m2m_req_perform(req))
  expect_null(body$errorCode)
  expect_equal(handle$fetched, 1L)
})

test_that("an AUTH_EXPIRED answer renews the key and retries once (m2m_req_perform, and req_perform on current httr2)", {
  skip_if_no_core()
  # The emulation ends keys after 2 s; the client holds them for the profile's 2 h, as it would when
  # USGS ends a key early (a logout elsewhere, a server restart).
  provider <- local_provider(usgs_key_lifetime = 2)
  req <- usgs_request(provider)
  handle <- attr(req, "m2mauth")
  expect_null(httr2::resp_body_json(m2m_req_perform(req))$errorCode)
  first_key <- handle$token$access_token
  Sys.sleep(2.5)
  body <- httr2::resp_body_json(m2m_req_perform(req))
  expect_null(body$errorCode)
  expect_equal(handle$fetched, 2L)
  expect_equal(handle$forced, 1L)
  expect_false(identical(handle$token$access_token, first_key))
  if (isTRUE(handle$signs_at_send)) {
    Sys.sleep(2.5)
    body <- httr2::resp_body_json(httr2::req_perform(req))
    expect_null(body$errorCode)
    expect_equal(handle$fetched, 3L)
    expect_equal(handle$forced, 2L)
  }
})

test_that("m2m_logout() ends a USGS M2M key at the API, and shows no secret", {
  skip_if_no_core()
  provider <- local_provider()
  usgs <- provider_credentials(provider, "usgs-m2m")
  url <- provider$token_urls[["usgs-m2m"]]
  key <- m2m_token("usgs-m2m", username = usgs$username, application_token = usgs$application_token, token_url = url)
  api <- function() {
    req <- httr2::req_headers(httr2::req_timeout(httr2::request(provider$usgs_api_url), 10), `X-Auth-Token` = key$access_token)
    httr2::resp_body_json(httr2::req_perform(req))$errorCode
  }
  expect_null(api())
  shown <- capture.output(ended <- m2m_logout("usgs-m2m", access_token = key$access_token, token_url = url), type = "message")
  expect_true(isTRUE(ended))
  expect_false(any(grepl(key$access_token, shown, fixed = TRUE)))
  expect_identical(api(), "AUTH_INVALID")
})

test_that("m2m_invalidate(req, logout = TRUE) ends the request's key at USGS; the next request gets a new one", {
  skip_if_no_core()
  provider <- local_provider()
  req <- usgs_request(provider)
  handle <- attr(req, "m2mauth")
  expect_null(httr2::resp_body_json(m2m_req_perform(req))$errorCode)
  old_key <- handle$token$access_token
  expect_identical(m2m_invalidate(req, logout = TRUE), req)
  ended <- httr2::req_headers(httr2::req_timeout(httr2::request(provider$usgs_api_url), 10), `X-Auth-Token` = old_key)
  expect_identical(httr2::resp_body_json(httr2::req_perform(ended))$errorCode, "AUTH_INVALID")
  expect_null(httr2::resp_body_json(m2m_req_perform(req))$errorCode)
  expect_equal(handle$fetched, 2L)
  expect_false(identical(handle$token$access_token, old_key))
  # A profile without a logout endpoint says so (and keeps its token).
  ce <- provider_credentials(provider, "climate-engine")
  other <- req_auth_m2m(
    httr2::request(provider$resource_url), "climate-engine",
    client_id = ce$client_id, client_secret = ce$client_secret, token_url = provider$token_urls[["climate-engine"]]
  )
  expect_error(m2m_invalidate(other, logout = TRUE), class = "m2mauth_error_no_logout_endpoint")
  expect_error(m2m_invalidate(req, logout = "yes"), class = "m2mauth_error_invalid_argument")
})

test_that("on current httr2, a 401 to a key in X-Auth-Token is renewed and retried once by httr2::req_perform()", {
  skip_if_no_core()
  provider <- local_provider()
  # The generic protected resource takes tokens only as Authorization: Bearer, so it answers 401 to
  # X-Auth-Token every time: one renewal, one retry, then httr2's own 401 error.
  req <- usgs_request(provider, url = provider$resource_url)
  handle <- attr(req, "m2mauth")
  skip_if_not(isTRUE(handle$signs_at_send), "httr2 without send-time signing: req_perform() refuses (tested above)")
  expect_error(httr2::req_perform(req), class = "httr2_http_401")
  expect_equal(handle$fetched, 2L)
  expect_equal(handle$forced, 1L)
})
