# The CLMS seed question: an HS256 grant made with httr2::jwt_encode_hmac() from the RSA key of a
# service key, sent as JSON. Fixed at the root (the core picks RS256 from the key and always
# form-encodes) and explained (m2m_inspect(), m2m_explain()).

test_that("the seed's grant is an HMAC relabelled, which R alone can see", {
  skip_if_not_installed("jsonlite")
  skip_if_not_installed("openssl")
  parts <- strsplit(seed_grant(), ".", fixed = TRUE)[[1]]
  header <- rawToChar(b64url_decode(parts[[1]]))
  expect_identical(header, "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"alg.1\":\"RS256\"}")
  expect_length(b64url_decode(parts[[3]]), 32) # an HMAC-SHA256, not a 256-byte RSA signature
})

test_that("m2m_inspect() says what went wrong with the seed's grant and how to fix it", {
  skip_if_no_core()
  diagnosis <- m2m_inspect(seed_grant(), "clms", now = 1728466300)
  expect_s3_class(diagnosis, "m2mauth_diagnosis")
  expect_false(diagnosis$ok)
  expect_true(all(c("duplicate_alg_header", "hmac_instead_of_rsa") %in% diagnosis$findings$code))
  expect_equal(diagnosis$header$alg, "HS256")
  expect_match(paste(diagnosis$findings$hint, collapse = " "), "RS256")
  expect_snapshot(print(diagnosis))
  later <- m2m_inspect(seed_grant(), "clms")
  expect_true("expired" %in% later$findings$code)
})

test_that("m2m_sign_jwt() picks RS256 for an RSA key, as downloaded in a service key", {
  skip_if_no_core()
  skip_if_no_spec()
  skip_if_not_installed("openssl")
  path <- file.path(spec_dir(), "keys", "test-clms-service-key.json")
  service_key <- jsonlite::read_json(path)
  claims <- list(
    iss = service_key$client_id, sub = service_key$user_id, aud = service_key$token_uri,
    iat = as.POSIXct(1767225600, origin = "1970-01-01", tz = "UTC"), exp = 1767229200
  )
  for (key in list(service_key$private_key, path, charToRaw(service_key$private_key))) {
    jwt <- m2m_sign_jwt(claims, key)
    parts <- strsplit(jwt, ".", fixed = TRUE)[[1]]
    expect_identical(rawToChar(b64url_decode(parts[[1]])), "{\"alg\":\"RS256\",\"typ\":\"JWT\"}")
    expect_identical(
      rawToChar(b64url_decode(parts[[2]])),
      sprintf(
        "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"iat\":1767225600,\"exp\":1767229200}",
        service_key$client_id, service_key$user_id, service_key$token_uri
      )
    )
    public <- openssl::read_key(service_key$private_key)$pubkey
    expect_true(openssl::signature_verify(
      charToRaw(paste(parts[1:2], collapse = ".")), b64url_decode(parts[[3]]), openssl::sha256, public
    ))
  }
})

test_that("m2m_sign_jwt() refuses HMAC with an RSA key, and says why", {
  skip_if_no_core()
  skip_if_no_spec()
  path <- file.path(spec_dir(), "keys", "test-clms-service-key.json")
  expect_error(
    m2m_sign_jwt(list(iss = "me"), path, alg = "HS256"),
    class = "m2mauth_error_key_algorithm_mismatch"
  )
  cnd <- tryCatch(m2m_sign_jwt(list(iss = "me"), path, alg = "HS256"), m2mauth_error = function(e) e)
  expect_s3_class(cnd, "m2mauth_config_error")
  expect_equal(cnd$code, "key_algorithm_mismatch")
  expect_match(cnd$hint, "jwt_encode_hmac", fixed = TRUE)
  expect_snapshot(m2m_sign_jwt(list(iss = "me"), path, alg = "HS256"), error = TRUE)
  expect_error(
    m2m_sign_jwt(list(iss = "me"), path, headers = list(alg = "RS256", kid = "k")),
    NA
  )
})

test_that("m2m_token()'s request for a downloaded service key is RS256 and form-encoded", {
  skip_if_no_core()
  skip_if_no_spec()
  path <- file.path(spec_dir(), "keys", "test-clms-service-key.json")
  plan <- m2m_build_request("clms", service_key = path)
  request <- plan$request$to_dict()
  expect_identical(request$headers[[2]], c("Content-Type", "application/x-www-form-urlencoded"))
  expect_match(request$body, "^grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=")
  expect_identical(plan$assertion$header[["alg"]], "RS256")
})

test_that("m2m_explain() turns both server answers of the seed into the fix", {
  skip_if_no_core()
  missing <- m2m_explain(
    list(error = "invalid_request", error_description = "Missing 'grant_type'"), "clms",
    status = 400
  )
  expect_s3_class(missing, "m2mauth_explanation")
  expect_equal(missing$code, "body_not_form_encoded")
  expect_match(missing$hint, "req_body_form", fixed = TRUE)
  only_rs256 <- m2m_explain(
    "{\"error\": \"invalid_request\", \"error_description\": \"Only RS256 signature algorithm is supported\"}",
    "clms",
    status = 400
  )
  expect_equal(only_rs256$code, "wrong_signature_algorithm")
  expect_match(only_rs256$hint, "RS256", fixed = TRUE)
  expect_snapshot(print(only_rs256))
})
