# Stores from R (m2m_file_store, m2m_memory_store, m2m_redis_store), m2m_invalidate(), the
# basic_encoding option, and bad credential values caught as classed conditions.

test_that("a file store is shared by req_auth_m2m(), m2m_token() and m2m_session()", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  folder <- withr::local_tempdir()
  store <- m2m_file_store(file.path(folder, "tokens"))
  req <- clms_request(provider, store = store)
  expect_equal(httr2::resp_status(httr2::req_perform(req)), 200)
  first <- attr(req, "m2mauth")$token$access_token
  # Another store object on the same folder (as another R session would make) gives the same token.
  again <- m2m_token("clms", service_key = provider$service_key_file, store = m2m_file_store(file.path(folder, "tokens")))
  expect_s3_class(again, "m2mauth_token")
  expect_identical(again$access_token, first)
  session <- m2m_session("clms", service_key = provider$service_key_file, store = store)
  answer <- session$get(provider$resource_url, timeout = 10)
  expect_equal(m2mauth:::py_attr(answer, "status_code"), 200L)
  expect_true(length(list.files(folder, recursive = TRUE)) > 0)
  expect_equal(file.info(file.path(folder, "tokens"))$mode, as.octmode("700"))
})

test_that("a memory store keeps the token for m2m_token() calls in this session", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  store <- m2m_memory_store()
  one <- m2m_token("clms", service_key = provider$service_key_file, store = store)
  two <- m2m_token("clms", service_key = provider$service_key_file, store = store)
  expect_identical(one$access_token, two$access_token)
  three <- m2m_token("clms", service_key = provider$service_key_file)
  expect_false(identical(three$access_token, one$access_token))
})

test_that("a Redis store that cannot be reached is a classed m2mauth error", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  store <- tryCatch(m2m_redis_store("redis://127.0.0.1:9/0"), m2mauth_error = function(e) e)
  if (inherits(store, "m2mauth_error")) {
    expect_false(grepl("bug in m2mauth", conditionMessage(store), fixed = TRUE))
    return()
  }
  cnd <- tryCatch(m2m_token("clms", service_key = provider$service_key_file, store = store), error = function(e) e)
  expect_s3_class(cnd, "m2mauth_error")
  expect_false(identical(cnd$code, "python_exception"))
  expect_false(grepl("bug in m2mauth", conditionMessage(cnd), fixed = TRUE))
})

test_that("m2m_invalidate() makes the next request fetch a new token", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  req <- clms_request(provider)
  expect_equal(httr2::resp_status(httr2::req_perform(req)), 200)
  handle <- attr(req, "m2mauth")
  first <- handle$token$access_token
  expect_identical(m2m_invalidate(req), req)
  expect_null(handle$token)
  expect_equal(httr2::resp_status(httr2::req_perform(req)), 200)
  expect_equal(handle$fetched, 2L)
  expect_false(identical(handle$token$access_token, first))
  expect_error(m2m_invalidate(httr2::request("https://example.org")), class = "m2mauth_error_invalid_argument")
  expect_error(m2m_invalidate("not a request"), class = "m2mauth_error_invalid_argument")
})

test_that("basic_encoding reaches the core from req_auth_m2m(), m2m_token() and m2m_session()", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  creds <- jsonlite::read_json(provider$credentials_file)
  gen <- creds$generic
  token <- m2m_token("generic",
    client_id = gen$client_id, client_secret = gen$client_secret,
    token_url = provider$token_urls$generic, basic_encoding = "rfc"
  )
  expect_true(nzchar(token$access_token))
  req <- req_auth_m2m(
    httr2::req_timeout(httr2::request(provider$resource_url), 10), "generic",
    client_id = gen$client_id, client_secret = gen$client_secret,
    token_url = provider$token_urls$generic, basic_encoding = "rfc"
  )
  expect_equal(httr2::resp_status(httr2::req_perform(req)), 200)
  # A wrong value is the core's own classed refusal (not "unknown credential", not a Python crash).
  bad <- req_auth_m2m(
    httr2::request(provider$resource_url), "generic",
    client_id = gen$client_id, client_secret = gen$client_secret,
    token_url = provider$token_urls$generic, basic_encoding = "bogus"
  )
  cnd <- tryCatch(httr2::req_perform(bad), error = function(e) e)
  expect_s3_class(cnd, "m2mauth_config_error")
  expect_match(conditionMessage(cnd), "basic_encoding", fixed = TRUE)
  session <- tryCatch(
    m2m_session("generic",
      client_id = gen$client_id, client_secret = gen$client_secret,
      token_url = provider$token_urls$generic, basic_encoding = "bogus"
    ),
    error = function(e) e
  )
  expect_s3_class(session, "m2mauth_config_error")
})

bad_values <- list(
  "NA" = NA, "NA_character_" = NA_character_, "NA_real_" = NA_real_, "two strings" = c("a", "b"),
  "empty" = character(0), "a function" = function() 1, "an unnamed list" = list(1, 2),
  "Inf" = Inf, "NaN" = NaN, "an environment" = new.env(), "a formula" = ~x, "a factor" = factor(c("a", "b"))
)

test_that("bad credential values are classed m2mauth conditions before Python, for every entry point", {
  for (label in names(bad_values)) {
    value <- bad_values[[label]]
    calls <- list(
      m2m_token = function() m2m_token("clms", service_key = value),
      m2m_fetch_token = function() m2m_fetch_token("generic", client_id = "x", client_secret = value),
      m2m_build_request = function() m2m_build_request("generic", client_id = value),
      m2m_session = function() m2m_session("clms", service_key = value),
      req_auth_m2m = function() req_auth_m2m(httr2::request("https://example.org"), "clms", service_key = value),
      m2m_file_store = function() m2m_file_store(value),
      m2m_redis_store = function() m2m_redis_store(value)
    )
    for (name in names(calls)) {
      if (name %in% c("m2m_file_store", "m2m_redis_store") && label %in% c("an unnamed list")) {
        next
      }
      cnd <- tryCatch(calls[[name]](), error = function(e) e)
      where <- paste(name, "with", label)
      expect_s3_class(cnd, "m2mauth_error_invalid_argument")
      expect_s3_class(cnd, "m2mauth_config_error")
      expect_false(grepl("bug in m2mauth", conditionMessage(cnd), fixed = TRUE), label = where)
    }
  }
  cnd <- tryCatch(m2m_token("clms", service_key = NA), error = function(e) e)
  expect_match(conditionMessage(cnd), "`service_key` must be a single string", fixed = TRUE)
  expect_match(conditionMessage(cnd), "not NA", fixed = TRUE)
  expect_error(install_m2mauth(version = NA), class = "m2mauth_error_invalid_argument")
  expect_error(install_m2mauth(package = "x", version = "0.1.0"), class = "m2mauth_error_invalid_argument")
})

test_that("the local provider is stopped when the object is collected and when R exits", {
  skip_if_no_core()
  code <- paste(
    "library(m2mauth)",
    "p <- m2m_local_provider(lifetime = 60); collected <- p$pid; rm(p); invisible(gc()); invisible(gc())",
    "alive <- m2mauth:::process_alive(collected)",
    "q <- m2m_local_provider(lifetime = 60)",
    "cat('pids:', collected, q$pid, 'collected-alive:', alive, '\\n')",
    sep = "; "
  )
  out <- run_r(code, env = paste0("M2MAUTH_PYTHON=", core_python()))
  pids <- regmatches(out, regexec("pids: ([0-9]+) ([0-9]+) collected-alive: (TRUE|FALSE)", out))[[1]]
  expect_length(pids, 4)
  expect_equal(pids[[4]], "FALSE")
  # The second one was never stopped nor collected: the session's end stopped it.
  deadline <- Sys.time() + 10
  while (m2mauth:::process_alive(as.integer(pids[[3]])) && Sys.time() < deadline) {
    Sys.sleep(0.1)
  }
  expect_false(m2mauth:::process_alive(as.integer(pids[[3]])))
})
