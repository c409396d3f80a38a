# Secrets never leak from the R package (issue 5, part 4). Against the core's local provider, every
# profile's flow runs through m2m_token() and req_auth_m2m(), error paths are provoked with
# recognisable canary secrets, and m2m_explain() reads them. Everything R or Python shows is captured:
# printed output (print, format, str, as.character), messages and warnings, condition messages and
# fields, explanations, Python's stdout and stderr, and Python's log records at DEBUG for all loggers
# (urllib3's request lines included). The canaries are the provider's test credentials (read from its
# credentials file), the CLMS service key's private key, canary secrets made here, and every access and
# refresh token the provider issued (read from the returned tokens and the token store). They may
# appear nowhere but in the token itself (token$access_token) and in the token store's files.

canary <- function(kind) {
  paste0("CANARY~r-", kind, "~", paste(sample(c(letters, 0:9), 8, replace = TRUE), collapse = ""), "!x")
}

# Everything shown, and the secrets to look for in it.
new_watch <- function() {
  watch <- new.env(parent = emptyenv())
  watch$texts <- character()
  watch$secrets <- list()
  watch
}

see <- function(watch, ...) {
  for (part in list(...)) {
    watch$texts <- c(watch$texts, paste(as.character(unlist(part)), collapse = "\n"))
  }
  invisible(watch)
}

forbid <- function(watch, label, values) {
  values <- unlist(values)
  values <- values[!is.na(values) & nchar(values) >= 12]
  if (length(values)) {
    watch$secrets[[label]] <- unique(c(watch$secrets[[label]], values, utils::URLencode(values, reserved = TRUE)))
  }
  invisible(watch)
}

forbid_token <- function(watch, token) {
  forbid(watch, "access token", token$access_token)
  forbid(watch, "refresh token", token$refresh_token)
}

# PEM body lines: each is a canary (a private key printed anywhere would show them).
pem_lines <- function(pem) {
  lines <- strsplit(pem, "\n", fixed = TRUE)[[1]]
  lines[!grepl("-----", lines, fixed = TRUE) & nchar(lines) >= 16]
}

# Python's log records at DEBUG, for every logger, into a buffer read at the end of the test.
python_log <- function(env = parent.frame()) {
  m2mauth:::core()
  logging <- reticulate::import("logging", convert = FALSE)
  io <- reticulate::import("io", convert = FALSE)
  buffer <- io$StringIO()
  handler <- logging$StreamHandler(buffer)
  handler$setLevel(logging$DEBUG)
  handler$setFormatter(logging$Formatter("%(name)s %(levelname)s %(message)s"))
  root <- logging$getLogger()
  old_level <- reticulate::py_to_r(root$level)
  root$addHandler(handler)
  root$setLevel(logging$DEBUG)
  withr::defer(
    {
      root$removeHandler(handler)
      root$setLevel(old_level)
    },
    envir = env
  )
  function() reticulate::py_to_r(buffer$getvalue())
}

# Evaluate `expr` and record all it shows: R output, messages, warnings, Python's stdout and stderr.
# An m2mauth condition is returned (and recorded with its fields and explanation), not raised.
shown <- function(watch, expr) {
  value <- NULL
  messages <- character()
  python <- ""
  printed <- utils::capture.output({
    python <- reticulate::py_capture_output({
      value <- withCallingHandlers(
        tryCatch(expr, m2mauth_error = function(cnd) cnd),
        message = function(m) {
          messages <<- c(messages, conditionMessage(m))
          invokeRestart("muffleMessage")
        },
        warning = function(w) {
          messages <<- c(messages, conditionMessage(w))
          invokeRestart("muffleWarning")
        }
      )
    })
  })
  see(watch, printed, messages, python)
  if (inherits(value, "m2mauth_token")) {
    forbid_token(watch, value)
    see(watch, utils::capture.output(print(value)), format(value), utils::capture.output(str(value)), as.character(value))
  }
  if (inherits(value, "m2mauth_error")) {
    fields <- value[c("code", "hint", "status", "error", "error_description", "retry_after", "provider_code")]
    see(
      watch, conditionMessage(value), utils::capture.output(print(value)), format(fields),
      utils::capture.output(print(m2m_explain(value))), utils::capture.output(print(value$python_exception))
    )
  }
  value
}

expect_no_leak <- function(watch, log = NULL, openaire_get = TRUE) {
  if (!is.null(log)) {
    text <- log()
    see(watch, text)
    # The capture works: urllib3's request lines are there (OpenAIRE's refresh token masked in them).
    expect_match(text, "urllib3.connectionpool", fixed = TRUE)
    if (openaire_get) {
      expect_match(text, "getAccessToken?refreshToken=<redacted>", fixed = TRUE)
    }
  }
  leaks <- character()
  for (label in names(watch$secrets)) {
    for (needle in watch$secrets[[label]]) {
      hit <- watch$texts[grepl(needle, watch$texts, fixed = TRUE)]
      if (length(hit)) {
        at <- regexpr(needle, hit[[1]], fixed = TRUE)
        leaks <- c(leaks, sprintf("%s: ...%s...", label, substr(hit[[1]], max(1, at - 60), at + 20)))
      }
    }
  }
  expect(length(leaks) == 0, paste(c("secrets leaked:", unique(leaks)), collapse = "\n"))
  expect_true(length(watch$texts) > 0)
}

provider_secrets <- function(watch, provider) {
  creds <- jsonlite::read_json(provider$credentials_file)
  for (profile in names(creds)) {
    for (name in c("client_secret", "secret", "password", "refresh_token", "subject_token")) {
      forbid(watch, paste(profile, name), creds[[profile]][[name]])
    }
  }
  key <- jsonlite::read_json(provider$service_key_file)
  forbid(watch, "CLMS service key", pem_lines(key$private_key))
  creds
}

resource_ok <- function(provider, token) {
  resp <- httr2::req_perform(httr2::req_timeout(
    httr2::req_headers(httr2::request(provider$resource_url), Authorization = paste("Bearer", token$access_token)),
    10
  ))
  httr2::resp_status(resp) == 200
}

test_that("every flow, req_auth_m2m() and the token store show no secret", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  watch <- new_watch()
  log <- python_log()
  creds <- provider_secrets(watch, provider)
  urls <- provider$token_urls
  personal <- paste0(provider$base_url, "/uoa-user-management/api/users/getAccessToken")
  dt <- creds[["disruptive-technologies"]]
  oa <- creds$openaire
  ce <- creds[["climate-engine"]]
  cdse <- creds[["cdse-openeo"]]
  gen <- creds$generic

  calls <- list(
    clms = function() m2m_token("clms", service_key = provider$service_key_file),
    dt = function() {
      m2m_token("disruptive-technologies",
        key_id = dt$key_id, secret = dt$secret, email = dt$email,
        token_url = urls[["disruptive-technologies"]]
      )
    },
    openaire_personal = function() m2m_token("openaire", refresh_token = oa$refresh_token, token_url = personal),
    openaire_basic = function() {
      m2m_token("openaire",
        client_id = oa$client_id, client_secret = oa$client_secret,
        token_url = provider$openaire_service_token_url
      )
    },
    ce_password = function() {
      m2m_token("climate-engine", username = ce$username, password = ce$password, token_url = urls[["climate-engine"]])
    },
    ce_jwt = function() {
      m2m_token("climate-engine",
        client_id = ce$client_id, client_secret = ce$client_secret,
        auth_method = "client_secret_jwt", token_url = urls[["climate-engine"]]
      )
    },
    cdse_client = function() {
      m2m_token("cdse-openeo",
        client_id = cdse$client_id, client_secret = cdse$client_secret,
        token_url = urls[["cdse-openeo"]]
      )
    },
    cdse_refresh = function() {
      m2m_token("cdse-openeo",
        client_id = cdse$public_client_id, refresh_token = cdse$refresh_token,
        token_url = urls[["cdse-openeo"]]
      )
    },
    generic_post = function() {
      m2m_token("generic",
        client_id = gen$client_id, client_secret = gen$client_secret,
        auth_method = "client_secret_post", token_url = urls$generic
      )
    },
    generic_password = function() {
      m2m_token("generic", username = gen$username, password = gen$password, token_url = urls$generic)
    }
  )
  for (name in names(calls)) {
    token <- shown(watch, calls[[name]]())
    expect_s3_class(token, "m2mauth_token")
    expect_true(resource_ok(provider, token), label = name)
  }

  # httr2: req_auth_m2m() with a FileStore; the request and the response printed.
  store_dir <- withr::local_tempdir()
  store <- reticulate::import("m2mauth")$FileStore(file.path(store_dir, "store"))
  req <- req_auth_m2m(
    httr2::req_timeout(httr2::request(provider$resource_url), 10), "generic",
    client_id = gen$client_id, client_secret = gen$client_secret, token_url = urls$generic, store = store
  )
  resp <- shown(watch, m2m_req_perform(req))
  expect_equal(httr2::resp_status(resp), 200)
  forbid_token(watch, attr(req, "m2mauth")$token)
  shown(watch, print(req)) # httr2 prints through cli: messages, which shown() records
  shown(watch, print(resp))

  # The token store: 0700 folders, 0600 files, token records only (no credential in them).
  files <- list.files(store_dir, recursive = TRUE, full.names = TRUE, include.dirs = TRUE, all.files = TRUE)
  for (path in files) {
    mode <- format(file.info(path)$mode)
    if (dir.exists(path)) {
      expect_equal(mode, "700", label = path)
    } else {
      expect_equal(mode, "600", label = path)
      # Bytes, not text: the store also holds binary files (the fingerprint key, lock files).
      bytes <- readBin(path, "raw", file.info(path)$size)
      for (label in grep("token", names(watch$secrets), value = TRUE, invert = TRUE)) {
        for (needle in watch$secrets[[label]]) {
          found <- length(grepRaw(charToRaw(needle), bytes, fixed = TRUE)) > 0
          expect_false(found, label = paste(label, "in", basename(path)))
        }
      }
      text <- rawToChar(bytes[bytes != as.raw(0)])
      if (grepl("/tokens/", path, fixed = TRUE)) {
        expect_true(all(names(jsonlite::fromJSON(text)) %in% c(
          "key", "access_token", "token_type", "expires_at", "issued_at", "refresh_token", "refresh_expires_at",
          "scope", "id_token"
        )))
      }
    }
  }
  expect_true(any(grepl("/tokens/", files, fixed = TRUE)))
  expect_no_leak(watch, log)
})

test_that("error paths with canary secrets show no secret", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  watch <- new_watch()
  log <- python_log()
  creds <- provider_secrets(watch, provider)
  urls <- provider$token_urls
  personal <- paste0(provider$base_url, "/uoa-user-management/api/users/getAccessToken")
  wrong <- canary("wrong.secret")
  refresh <- canary("refresh.token")
  password <- canary("pass word")
  forbid(watch, "canary", c(wrong, refresh, password))
  key <- jsonlite::read_json(provider$service_key_file)

  cases <- list(
    wrong_client_secret = function() {
      m2m_token("generic", client_id = creds$generic$client_id, client_secret = wrong, token_url = urls$generic)
    },
    wrong_hmac_secret = function() {
      dt <- creds[["disruptive-technologies"]]
      m2m_token("disruptive-technologies",
        key_id = dt$key_id, secret = wrong, email = dt$email,
        token_url = urls[["disruptive-technologies"]]
      )
    },
    wrong_password = function() {
      m2m_token("climate-engine",
        username = creds[["climate-engine"]]$username, password = password,
        token_url = urls[["climate-engine"]]
      )
    },
    refused_refresh_token_get = function() m2m_token("openaire", refresh_token = refresh, token_url = personal),
    refused_refresh_token_post = function() {
      m2m_token("cdse-openeo", client_id = "cdse-public", refresh_token = refresh, token_url = urls[["cdse-openeo"]])
    },
    wrong_key = function() {
      other <- key
      other$user_id <- "someone-else"
      m2m_token("clms", service_key = other)
    },
    insecure_url = function() {
      m2m_token("generic", client_id = "c", client_secret = wrong, token_url = "http://auth.example.org/token")
    },
    missing_credential = function() m2m_token("generic", client_secret = wrong, token_url = urls$generic),
    key_algorithm_mismatch = function() m2m_sign_jwt(list(iss = "me"), key$private_key, alg = "HS256"),
    key_algorithm_mismatch_plan = function() m2m_plan_request("clms", alg = "HS256", service_key = key),
    secret_given_as_key_path = function() {
      m2m_token("generic", client_id = "c", private_key = paste(pem_lines(key$private_key), collapse = ""),
        token_url = urls$generic
      )
    },
    closed_port = function() {
      m2m_token("openaire", refresh_token = refresh, timeout = 5, token_url = "http://127.0.0.1:9/getAccessToken")
    }
  )
  for (name in names(cases)) {
    cnd <- shown(watch, cases[[name]]())
    expect_s3_class(cnd, "m2mauth_error")
    expect_true(nzchar(cnd$code), label = name)
  }

  # An answer read by m2m_explain(): the canary went out in the request, the explanation shows none of it.
  req <- httr2::req_body_form(httr2::request(urls$generic),
    grant_type = "client_credentials", client_id = creds$generic$client_id, client_secret = wrong
  )
  req <- httr2::req_error(httr2::req_timeout(req, 10), is_error = function(resp) FALSE)
  resp <- httr2::req_perform(req)
  expect_equal(httr2::resp_status(resp), 401)
  explanation <- shown(watch, m2m_explain(resp, "generic"))
  expect_s3_class(explanation, "m2mauth_explanation")
  see(watch, utils::capture.output(print(explanation)), format(explanation), explanation$message, explanation$hint)
  expect_no_leak(watch, log)
})

test_that("a device login, its stored refresh token and logout show no secret", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  watch <- new_watch()
  log <- python_log()
  creds <- provider_secrets(watch, provider)
  cdse <- creds[["cdse-openeo"]]
  store <- reticulate::import("m2mauth")$FileStore(file.path(withr::local_tempdir(), "store"))
  issuer <- paste0(provider$base_url, "/auth/realms/CDSE")
  approve <- function(authorization) {
    forbid(watch, "device code", reticulate::py_to_r(reticulate::py_get_attr(authorization, "device_code")))
    user_code <- reticulate::py_to_r(reticulate::py_get_attr(authorization, "user_code"))
    httr2::req_perform(httr2::req_timeout(
      httr2::req_body_form(httr2::request(paste0(provider$base_url, "/device/approve")), user_code = user_code), 10
    ))
    invisible(NULL)
  }
  login <- function(prompt) {
    m2m_login("cdse-openeo",
      prompt = prompt, store = store, issuer = issuer,
      client_id = cdse$client_id, client_secret = cdse$client_secret
    )
  }
  token <- shown(watch, login(approve))
  expect_s3_class(token, "m2mauth_token")
  expect_false(is.null(token$refresh_token))
  expect_true(resource_ok(provider, token))
  again <- shown(watch, login(function(authorization) stop("not asked again")))
  expect_s3_class(again, "m2mauth_token")
  expect_true(shown(watch, m2m_logout("cdse-openeo",
    store = store, issuer = issuer,
    client_id = cdse$client_id, client_secret = cdse$client_secret
  )))
  expect_no_leak(watch, log, openaire_get = FALSE)
})
