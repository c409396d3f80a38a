# EUMETSAT and ESA MAAP from R against the core's local provider (python -m m2mauth.testing):
# keywords and validity_period through `...`, httr2 requests, EUMETSAT's same token until expiry,
# and the provider tools' own credential files (eumdac's, maap_client's) read in a fresh R process
# whose Python starts with HOME / MAAP_CREDENTIALS_FILE pointed at a temporary folder.

provider_credentials <- function(provider, profile) {
  jsonlite::read_json(provider$credentials_file)[[profile]]
}

# A fresh R process (its Python sees `env` from the start) that prints the resource's answer.
token_in_fresh_r <- function(provider, profile, env) {
  code <- sprintf(
    paste(
      "suppressPackageStartupMessages(library(m2mauth))",
      "res <- tryCatch({",
      "  t <- m2m_token(%s, token_url = %s)",
      "  r <- httr2::req_perform(httr2::req_auth_bearer_token(httr2::req_timeout(httr2::request(%s), 10), t$access_token))",
      "  paste('profile:', httr2::resp_body_json(r)$profile)",
      "}, m2mauth_error = function(e) paste('error:', e$code, conditionMessage(e), e$hint))",
      "cat(res, '\\n')",
      sep = "\n"
    ),
    deparse(profile), deparse(provider$token_urls[[profile]]), deparse(provider$resource_url)
  )
  run_r(code, env = c(paste0("M2MAUTH_PYTHON=", core_python()), env))
}

private_file <- function(path, lines) {
  dir.create(dirname(path), recursive = TRUE, showWarnings = FALSE)
  writeLines(lines, path)
  Sys.chmod(path, "600")
  path
}

test_that("eumetsat: consumer key and secret, validity_period through ..., and the same token back", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  creds <- provider_credentials(provider, "eumetsat")
  args <- list(
    "eumetsat",
    client_id = creds$client_id, client_secret = creds$client_secret,
    token_url = provider$token_urls$eumetsat
  )
  token <- do.call(m2m_token, c(args, list(validity_period = 7200)))
  left <- as.numeric(token$expires_at) - as.numeric(Sys.time())
  expect_true(left > 7100 && left <= 7200)
  # The server hands back the token it issued last while that one is valid.
  again <- do.call(m2m_token, args)
  expect_identical(again$access_token, token$access_token)
  req <- do.call(req_auth_m2m, c(list(httr2::req_timeout(httr2::request(provider$resource_url), 10)), args))
  resp <- httr2::req_perform(req)
  expect_equal(httr2::resp_body_json(resp)$profile, "eumetsat")
  expect_identical(attr(req, "m2mauth")$token$access_token, token$access_token)
})

test_that("eumetsat: a wrong secret is a classed condition that does not show the secret", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  creds <- provider_credentials(provider, "eumetsat")
  wrong <- paste0("wrong-", creds$client_secret)
  cnd <- tryCatch(
    m2m_token("eumetsat", client_id = creds$client_id, client_secret = wrong, token_url = provider$token_urls$eumetsat),
    m2mauth_error = function(e) e
  )
  expect_s3_class(cnd, "m2mauth_error_invalid_client")
  expect_match(cnd$hint, "api.eumetsat.int/api-key", fixed = TRUE)
  expect_false(grepl(wrong, paste(conditionMessage(cnd), cnd$hint), fixed = TRUE))
})

test_that("eumetsat: validity_period is refused where the profile does not take it", {
  skip_if_no_core()
  cnd <- tryCatch(
    m2m_token("generic", client_id = "a", client_secret = "b", token_url = "https://auth.example.org/token", validity_period = 60),
    m2mauth_error = function(e) e
  )
  expect_s3_class(cnd, "m2mauth_error_invalid_option")
})

test_that("eumetsat: eumdac's ~/.eumdac/credentials is read, and refused when others may read it", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 600)
  creds <- provider_credentials(provider, "eumetsat")
  home <- withr::local_tempdir()
  path <- private_file(file.path(home, ".eumdac", "credentials"), paste0(creds$client_id, ",", creds$client_secret))
  out <- token_in_fresh_r(provider, "eumetsat", paste0("HOME=", home))
  expect_match(out, "profile: eumetsat", fixed = TRUE)
  Sys.chmod(path, "644")
  out <- token_in_fresh_r(provider, "eumetsat", paste0("HOME=", home))
  expect_match(out, "error: credential_file_permissions", fixed = TRUE)
  expect_match(out, paste("chmod 600", path), fixed = TRUE)
  expect_false(grepl(creds$client_secret, out, fixed = TRUE))
})

test_that("esa-maap: the offline token with keywords, and from MAAP_CREDENTIALS_FILE", {
  skip_if_no_core()
  provider <- local_provider(lifetime = 300)
  creds <- provider_credentials(provider, "esa-maap")
  token <- m2m_token(
    "esa-maap",
    client_id = creds$client_id, client_secret = creds$client_secret, refresh_token = creds$refresh_token,
    token_url = provider$token_urls[["esa-maap"]]
  )
  expect_true(nzchar(token$access_token))
  shown <- capture.output(print(token))
  expect_false(any(grepl(creds$refresh_token, shown, fixed = TRUE)))
  file <- private_file(file.path(withr::local_tempdir(), "maap.txt"), c(
    paste0("CLIENT_ID=", creds$client_id),
    paste0("CLIENT_SECRET=", creds$client_secret),
    paste0("OFFLINE_TOKEN=", creds$refresh_token)
  ))
  out <- token_in_fresh_r(provider, "esa-maap", paste0("MAAP_CREDENTIALS_FILE=", file))
  expect_match(out, "profile: esa-maap", fixed = TRUE)
  writeLines(c(paste0("CLIENT_ID=", creds$client_id), "CLIENT_SECRET"), file)
  out <- token_in_fresh_r(provider, "esa-maap", paste0("MAAP_CREDENTIALS_FILE=", file))
  expect_match(out, "error: invalid_credential_file", fixed = TRUE)
  expect_match(out, "line 2", fixed = TRUE)
})
