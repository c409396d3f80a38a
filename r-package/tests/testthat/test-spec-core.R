# Every spec vector replayed through the Python core from R: the generated wrappers must give the
# bytes the vectors pin.

credential_names <- c(
  "service_key", "client_id", "client_secret", "private_key", "key_id", "secret", "email", "username",
  "password", "refresh_token", "scope", "token_url", "issuer", "audience", "key_password", "application_token"
)
# RFC 8693 token exchange.
credential_names <- c(credential_names, "subject_token", "subject_token_type", "resource", "requested_token_type")
# CDSE: the one-time code of a two-factor account.
credential_names <- c(credential_names, "totp")

resolve_input <- function(value, spec) {
  if (is.list(value) && identical(names(value), "file")) {
    path <- file.path(spec, value$file)
    if (grepl("\\.secret$", path)) {
      return(readChar(path, file.info(path)$size, useBytes = TRUE))
    }
    return(path)
  }
  value
}

pairs_text <- function(pairs) vapply(pairs, function(p) paste(unlist(p), collapse = " = "), "")

replay_request <- function(test, spec) {
  input <- test$input
  credentials <- lapply(input[intersect(names(input), credential_names)], resolve_input, spec = spec)
  jti <- input$jti
  args <- c(
    list(
      input$profile,
      flow = input$flow, auth_method = input$auth_method, basic_encoding = input$basic_encoding,
      alg = input$alg, lifetime = input$lifetime, now = input$now,
      jti_source = if (!is.null(jti)) function() jti,
      environ = list()
    ),
    credentials
  )
  args <- args[!vapply(args, is.null, logical(1))]
  do.call(m2m_plan_request, args)
}

replay_jws <- function(test, group, spec) {
  input <- test$input
  key <- group$key
  if (!is.null(key$jwk)) {
    loaded <- m2m_load_key(key$jwk)
  } else if (identical(key$kty, "oct")) {
    loaded <- m2m_secret_key(resolve_input(list(file = key$file), spec))
  } else {
    loaded <- m2m_load_key(file.path(spec, key$file))
  }
  if (is.null(input$profile)) {
    # A published vector: sign its signing input with the core's key, compare the signature.
    signature <- loaded$sign(charToRaw(test$intermediate$signingInput), input$alg)
    return(list(signature = m2mauth:::from_py(signature)))
  }
  assertion <- m2m_make_assertion(
    loaded,
    issuer = input$iss, subject = input$sub, audience = input$aud, alg = input$alg,
    lifetime = input$lifetime, now = input$now
  )
  list(assertion = assertion, diagnosis = m2m_inspect(assertion$jwt, input$profile, now = input$now, token_url = input$token_url))
}

spec <- spec_dir()
if (is.null(spec)) {
  test_that("the spec vectors replay through the core", skip_if_no_spec())
} else {
  for (path in vector_files(spec)) {
    local({
      doc <- read_vectors(path)
      test_that(sprintf("core replay from R: %s", basename(path)), {
        skip_if_no_core()
        for (group in doc$testGroups) {
          for (test in group$tests) {
            label <- sprintf("%s tcId %s", basename(path), test$tcId)
            expected <- test$expected
            if (identical(group$type, "JwsTest")) {
              out <- replay_jws(test, group, spec)
              if (!is.null(out$signature)) {
                parts <- strsplit(expected$jws, ".", fixed = TRUE)[[1]]
                expect_identical(b64url_encode(out$signature), parts[[3]], label = label)
                next
              }
              expect_identical(out$assertion$jwt, expected$jws, label = label)
              expect_identical(out$assertion$header_json, test$intermediate$header, label = label)
              expect_identical(out$assertion$claims_json, test$intermediate$claims, label = label)
              expect_true(test$error_code %in% out$diagnosis$findings$code, label = label)
              next
            }
            if (identical(test$result, "invalid")) {
              expect_error(
                replay_request(test, spec),
                class = paste0("m2mauth_error_", test$error_code),
                label = label
              )
              next
            }
            plan <- replay_request(test, spec)
            got <- plan$request$to_dict()
            want <- expected$tokenRequest
            expect_identical(got$method, want$method, label = label)
            expect_identical(pairs_text(got$headers), pairs_text(want$headers), label = label)
            if (isTRUE(expected$reproducible) || is.null(expected$jws)) {
              expect_identical(got$url, want$url, label = label)
              expect_identical(pairs_text(got$form), pairs_text(want$form), label = label)
              expect_identical(got$body, want$body, label = label)
            } else {
              # PS*/ES*: a fresh signature each time; the signing input must still match.
              jws <- plan$assertion$jwt
              expect_identical(sub("\\.[^.]*$", "", jws), test$intermediate$signingInput, label = label)
            }
            if (!is.null(plan$assertion) && isTRUE(expected$reproducible)) {
              expect_identical(plan$assertion$jwt, expected$jws, label = label)
            }
          }
        }
      })
    })
  }
}
