# End to end against the core's local provider (python -m m2mauth.testing on 127.0.0.1): a CLMS
# token, httr2 requests with req_auth_m2m(), renewal after expiry and after a 401, and the seed's
# wrong request explained.

test_that("a CLMS token is fetched with the service key as downloaded", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  token <- m2m_token("clms", service_key = provider$service_key_file)
  expect_s3_class(token, "m2mauth_token")
  expect_true(nzchar(token$access_token))
  expect_equal(token$token_type, "Bearer")
  left <- as.numeric(token$expires_at) - as.numeric(Sys.time())
  expect_true(left > 500 && left <= 600)
  shown <- capture.output(print(token), str(token))
  expect_false(any(grepl(token$access_token, shown, fixed = TRUE)))
})

test_that("req_auth_m2m() authenticates httr2 requests and reuses the token", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  req <- httr2::request(provider$resource_url)
  req <- httr2::req_timeout(req, 10)
  req <- req_auth_m2m(req, "clms", service_key = provider$service_key_file)
  first <- httr2::req_perform(req)
  expect_equal(httr2::resp_status(first), 200)
  expect_true(httr2::resp_body_json(first)$ok)
  second <- httr2::req_perform(req)
  expect_equal(httr2::resp_status(second), 200)
  handle <- attr(req, "m2mauth")
  expect_equal(handle$fetched, 1L)
  expect_equal(handle$forced, 0L)
  # Without req_auth_m2m() the resource refuses.
  refused <- tryCatch(httr2::req_perform(httr2::req_timeout(httr2::request(provider$resource_url), 10)),
    httr2_http_401 = function(cnd) cnd
  )
  expect_s3_class(refused, "httr2_http_401")
})

test_that("an expired token is renewed before the request", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 3)
  req <- req_auth_m2m(
    httr2::req_timeout(httr2::request(provider$resource_url), 10), "clms",
    service_key = provider$service_key_file
  )
  expect_equal(httr2::resp_status(httr2::req_perform(req)), 200)
  handle <- attr(req, "m2mauth")
  first <- handle$token$access_token
  wait <- as.numeric(handle$token$expires_at) - as.numeric(Sys.time()) + 0.5
  Sys.sleep(min(max(wait, 0), 5))
  expect_equal(httr2::resp_status(httr2::req_perform(req)), 200)
  expect_equal(handle$fetched, 2L)
  expect_false(identical(handle$token$access_token, first))
})

test_that("a token the server refuses as invalid_token is renewed once (httr2 retries)", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 3)
  req <- req_auth_m2m(
    httr2::req_timeout(httr2::request(provider$resource_url), 10), "clms",
    service_key = provider$service_key_file
  )
  httr2::req_perform(req)
  handle <- attr(req, "m2mauth")
  Sys.sleep(min(max(as.numeric(handle$token$expires_at) - as.numeric(Sys.time()) + 0.5, 0), 5))
  # Make this session believe the expired token is still good: the server answers 401 invalid_token.
  handle$token$issued_at <- Sys.time()
  handle$token$expires_at <- Sys.time() + 600
  resp <- httr2::req_perform(req)
  expect_equal(httr2::resp_status(resp), 200)
  expect_equal(handle$forced, 1L)
  expect_equal(handle$fetched, 2L)
})

# A data API that revokes the first token it sees (as a server does after a password change or a
# logout elsewhere): that token is still valid by its expiry time, so only the server's 401 tells.
revoking_api <- function(env = parent.frame()) {
  handler <- function(req, res) {
    auth <- req$get_header("Authorization")
    auth <- if (is.null(auth)) "" else auth
    seen <- c(res$app$locals$seen, auth)
    res$app$locals$seen <- seen
    if (identical(auth, seen[[1]])) {
      res$set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"")
      res$set_status(401L)$send("revoked")
    } else {
      res$send_json(list(ok = TRUE, requests = length(seen)), auto_unbox = TRUE)
    }
  }
  environment(handler) <- globalenv() # the app runs in another process: send the function alone
  app <- webfakes::new_app()
  app$get("/data", handler)
  webfakes::local_app_process(app, .local_envir = env)
}

test_that("a token the server revokes is renewed by plain httr2::req_perform()", {
  # httr2 >= 1.1.1 clears the cache before it re-signs; before the fix that path handed back the
  # revoked token and req_perform() raised HTTP 401 (httr2 0.2.2 and 1.1.0 renewed).
  skip_if_no_core()
  skip_if_not_installed("webfakes")
  provider <- local_provider(lifetime = 600)
  web <- revoking_api()
  req <- req_auth_m2m(
    httr2::req_timeout(httr2::request(web$url("/data")), 10), "clms",
    service_key = provider$service_key_file
  )
  resp <- httr2::req_perform(req)
  expect_equal(httr2::resp_status(resp), 200)
  expect_equal(httr2::resp_body_json(resp)$requests, 2L)
  handle <- attr(req, "m2mauth")
  expect_equal(handle$forced, 1L)
  expect_equal(handle$fetched, 2L)
  # The renewed token is kept: the next request sends it once, with no further token request.
  expect_equal(httr2::resp_body_json(httr2::req_perform(req))$requests, 3L)
  expect_equal(handle$fetched, 2L)
})

test_that("httr2 >= 1.1.1's clear() then re-sign renews the token, imitated on any httr2", {
  # What httr2 >= 1.1.1 does after 401 invalid_token, step by step, so the renewal path stays
  # covered where only httr2 0.2.2 is installed: the cache's clear(), its get(), then the flow.
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  req <- req_auth_m2m(
    httr2::req_timeout(httr2::request(provider$resource_url), 10), "clms",
    service_key = provider$service_key_file
  )
  expect_equal(httr2::resp_status(httr2::req_perform(req)), 200)
  handle <- attr(req, "m2mauth")
  refused <- handle$token$access_token
  cache <- m2mauth:::handle_cache(handle)
  expect_identical(cache$get()$access_token, refused) # fresh: httr2 would send it
  cache$clear()
  expect_null(cache$get())
  renewed <- m2mauth:::httr2_flow(handle)
  cache$set(renewed)
  expect_false(identical(renewed$access_token, refused))
  expect_equal(handle$forced, 1L)
  expect_equal(handle$fetched, 2L)
  expect_identical(cache$get()$access_token, renewed$access_token)
  expect_equal(httr2::resp_status(httr2::req_perform(req)), 200)
  expect_equal(handle$fetched, 2L)
})

test_that("m2m_req_perform() renews once on any 401, even without WWW-Authenticate", {
  skip_if_no_core()
  skip_if_not_installed("webfakes")
  provider <- local_provider(lifetime = 600)
  handler <- function(req, res) {
    auth <- req$get_header("Authorization")
    seen <- c(res$app$locals$seen, if (is.null(auth)) "" else auth)
    res$app$locals$seen <- seen
    if (length(seen) == 1) {
      res$set_status(401L)$send("not you")
    } else {
      res$send_json(list(ok = TRUE, same_token = identical(seen[[1]], seen[[length(seen)]])), auto_unbox = TRUE)
    }
  }
  environment(handler) <- globalenv() # the app runs in another process: send the function alone
  app <- webfakes::new_app()
  app$get("/data", handler)
  web <- webfakes::local_app_process(app)
  req <- req_auth_m2m(
    httr2::req_timeout(httr2::request(web$url("/data")), 10), "clms",
    service_key = provider$service_key_file
  )
  resp <- m2m_req_perform(req)
  expect_equal(httr2::resp_status(resp), 200)
  expect_false(httr2::resp_body_json(resp)$same_token)
  handle <- attr(req, "m2mauth")
  expect_equal(handle$forced, 1L)
  expect_equal(handle$fetched, 2L)
})

test_that("the seed's request (JSON body) is refused and m2m_explain() says why", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  req <- httr2::request(provider$token_urls$clms)
  req <- httr2::req_headers(req, Accept = "application/json", "Content-Type" = "application/x-www-form-urlencoded")
  req <- httr2::req_body_json(req, list(grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion = seed_grant()))
  req <- httr2::req_timeout(req, 10)
  refused <- tryCatch(httr2::req_perform(req), httr2_http = function(cnd) cnd)
  expect_s3_class(refused, "httr2_http_400")
  explanation <- m2m_explain(refused, "clms")
  expect_equal(explanation$code, "body_not_form_encoded")
  expect_equal(explanation$error_description, "Missing 'grant_type'")
  expect_snapshot(print(explanation))
  # The same answer as a response object (httr2 told not to raise).
  resp <- httr2::req_perform(httr2::req_error(req, is_error = function(resp) FALSE))
  expect_equal(m2m_explain(resp, "clms")$code, "body_not_form_encoded")
})

test_that("the seed's grant sent form-encoded is refused for its algorithm, and explained", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  req <- httr2::request(provider$token_urls$clms)
  req <- httr2::req_body_form(req, grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion = seed_grant())
  req <- httr2::req_timeout(req, 10)
  refused <- tryCatch(httr2::req_perform(req), httr2_http = function(cnd) cnd)
  expect_s3_class(refused, "httr2_http_400")
  explanation <- m2m_explain(refused, "clms")
  expect_equal(explanation$code, "wrong_signature_algorithm")
  expect_equal(explanation$error_description, "Only RS256 signature algorithm is supported")
})

test_that("a refused token request is a classed condition that m2m_explain() reads", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  key <- jsonlite::read_json(provider$service_key_file)
  key$user_id <- "someone-else"
  cnd <- tryCatch(m2m_token("clms", service_key = key), m2mauth_error = function(e) e)
  expect_s3_class(cnd, "m2mauth_token_endpoint_error")
  expect_s3_class(cnd, "m2mauth_error_invalid_grant")
  expect_equal(cnd$status, 400L)
  expect_false(grepl(key$private_key, conditionMessage(cnd), fixed = TRUE))
  explanation <- m2m_explain(cnd, "clms")
  expect_equal(explanation$status, 400L)
  expect_equal(explanation$error, "invalid_grant")
})
