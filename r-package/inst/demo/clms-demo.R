# The CLMS flow from R, end to end against m2mauth's local provider (127.0.0.1 only), then the
# two classic mistakes of the httr2-by-hand grant diagnosed.
#
#   M2MAUTH_PYTHON=<python with m2mauth> R_LIBS=<lib with m2mauth> Rscript r-package/inst/demo/clms-demo.R
#
# (nox -s demo sets both.) Nothing secret is printed: tokens print redacted.

library(m2mauth)
library(httr2)

step <- function(text) cat("\n== ", text, "\n", sep = "")

# The grant from the well-known R question (its `assertion`, byte for byte): made with
# httr2::jwt_encode_hmac(claim, secret = private_key, header = list(alg = "RS256")).
seed_grant <- paste0(
  "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiIsImFsZy4xIjoiUlMyNTYifQ.",
  "eyJpc3MiOiIyYjhlMTdmYzBkOTg4YzVkNGY2OTg1ZTMyYjdmY2VkNCIsInN1YiI6Im4wMGg3ZGthIiwiYXVkIjoiaHR0cHM6Ly9s",
  "YW5kLmNvcGVybmljdXMuZXUvQEBvYXV0aDItdG9rZW4iLCJleHAiOjE3Mjg0Njk4NDcsIm5iZiI6MTcyODQ2NjI0NywiaWF0Ijox",
  "NzI4NDY2MjQ3LCJqdGkiOiJZcEhTSmpOSk0zeE85SFdTbVk1NFpqS0J6QlROdUtWUEtLNGRsZ05oSmtVIn0.",
  "1opDHqRqVMuKgojnUvgf1DTOtBAY3fLQB6AGr1C0jYY"
)

step("Starting the local provider (python -m m2mauth.testing)")
provider <- m2m_local_provider(lifetime = 600)
print(provider)

ok <- FALSE
tryCatch(
  {
    step("1. A CLMS token, with the service key exactly as downloaded")
    token <- m2m_token("clms", service_key = provider$service_key_file)
    print(token)

    step("2. An httr2 request to the protected resource, authenticated by req_auth_m2m()")
    req <- request(provider$resource_url) |>
      req_timeout(10) |>
      req_auth_m2m("clms", service_key = provider$service_key_file)
    resp <- req_perform(req)
    cat("HTTP", resp_status(resp), "\n")
    str(resp_body_json(resp))
    resp <- req_perform(req)
    cat("again: HTTP", resp_status(resp), "(the cached token was reused)\n")

    step("3. Mistake one: an HS256 grant signed with the RSA key's PEM text")
    service_key <- jsonlite::read_json(provider$service_key_file)
    claims <- list(
      iss = service_key$client_id, sub = service_key$user_id, aud = service_key$token_uri,
      iat = Sys.time(), exp = Sys.time() + 3600
    )
    refused <- tryCatch(
      m2m_sign_jwt(claims, service_key$private_key, alg = "HS256"),
      m2mauth_error_key_algorithm_mismatch = function(cnd) cnd
    )
    cat("m2m_sign_jwt(claims, key, alg = \"HS256\") is refused:\n", conditionMessage(refused), "\n", sep = "")
    grant <- m2m_sign_jwt(claims, service_key$private_key)
    cat("m2m_sign_jwt(claims, key) signs", m2m_inspect(grant, "clms")$header$alg, "\n")
    cat("\nThe grant from the question, inspected:\n")
    print(m2m_inspect(seed_grant, "clms"))

    step("4. Mistake two: the grant sent as JSON (httr2::req_body_json)")
    wrong <- request(provider$token_urls$clms) |>
      req_timeout(10) |>
      req_headers(Accept = "application/json", "Content-Type" = "application/x-www-form-urlencoded") |>
      req_body_json(list(grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion = grant))
    answer <- tryCatch(req_perform(wrong), httr2_http = function(cnd) cnd)
    cat("The server answers:", resp_body_string(answer$resp), "\n")
    print(m2m_explain(answer, "clms"))

    step("5. And the relabelled HS256 grant, form-encoded this time")
    relabelled <- request(provider$token_urls$clms) |>
      req_timeout(10) |>
      req_body_form(grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion = seed_grant)
    answer <- tryCatch(req_perform(relabelled), httr2_http = function(cnd) cnd)
    cat("The server answers:", resp_body_string(answer$resp), "\n")
    print(m2m_explain(answer, "clms"))
    ok <- TRUE
  },
  finally = {
    m2m_local_provider_stop(provider)
    step(if (ok) "Done: the local provider is stopped." else "The demo failed; the local provider is stopped.")
  }
)
