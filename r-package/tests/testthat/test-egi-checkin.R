# EGI Check-in and RFC 8693 token exchange through the Python core, against the local provider
# (`python -m m2mauth.testing`): its credentials file holds an EGI client and a subject token (an
# access token another Check-in client got), so the exchange runs as a user's script would.

access_token_type <- "urn:ietf:params:oauth:token-type:access_token"

egi_exchange <- function(provider) {
  creds <- jsonlite::read_json(provider$credentials_file)[["egi-checkin"]]
  list(
    subject_token = creds$subject_token, audience = creds$audience, client_id = creds$client_id,
    client_secret = creds$client_secret, token_url = provider$token_urls[["egi-checkin"]]
  )
}

resource_status <- function(req) {
  resp <- httr2::req_perform(httr2::req_error(httr2::req_timeout(req, 10), is_error = function(resp) FALSE))
  httr2::resp_status(resp)
}

test_that("m2m_token() exchanges a subject token at egi-checkin and keeps issued_token_type", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  args <- egi_exchange(provider)
  token <- do.call(m2m_token, c(list("egi-checkin", flow = "token_exchange"), args))
  expect_s3_class(token, "m2mauth_token")
  expect_equal(token$issued_token_type, access_token_type)
  expect_false(identical(token$access_token, args$subject_token))
  req <- httr2::req_headers(httr2::request(provider$resource_url), Authorization = paste("Bearer", token$access_token))
  expect_equal(resource_status(req), 200L)
})

test_that("req_auth_m2m() passes the token exchange keywords through ...", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  args <- egi_exchange(provider)
  req <- do.call(req_auth_m2m, c(list(httr2::request(provider$resource_url), "egi-checkin"), args))
  expect_equal(resource_status(req), 200L)
})

test_that("an unknown audience is m2mauth_error_invalid_client with Check-in's hint", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  args <- egi_exchange(provider)
  args$audience <- "https://not-a-client.example"
  cnd <- expect_error(do.call(m2m_token, c(list("egi-checkin"), args)), class = "m2mauth_error_invalid_client")
  expect_match(conditionMessage(cnd), "audience not found", fixed = TRUE)
  expect_match(cnd$hint, "client ID of a client registered in Check-in", fixed = TRUE)
  expect_false(grepl(args$subject_token, conditionMessage(cnd), fixed = TRUE))
})

test_that("a subject token the server refuses is m2mauth_error_subject_token_expired", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  args <- egi_exchange(provider)
  args$subject_token <- "a-token-check-in-never-issued"
  cnd <- expect_error(
    do.call(m2m_token, c(list("egi-checkin"), args)),
    class = "m2mauth_error_subject_token_expired"
  )
  expect_match(cnd$hint, "subject_token=", fixed = TRUE)
})
