# The spec vectors replayed with R alone: openssl for signatures and HMACs, jsonlite for JSON, and an
# R implementation of spec/CONVENTIONS.md for base64url, form bodies and Basic headers. Nothing
# here calls Python. The rpy2 tests (tests/r/) source this file too.

spec_dir <- function() {
  candidates <- c(
    if (nzchar(Sys.getenv("M2MAUTH_REPO"))) file.path(Sys.getenv("M2MAUTH_REPO"), "spec"),
    file.path(c(".", "..", "../..", "../../..", "../../../.."), "spec")
  )
  for (path in candidates) {
    if (dir.exists(file.path(path, "vectors")) && dir.exists(file.path(path, "keys"))) {
      return(normalizePath(path))
    }
  }
  NULL
}

vector_files <- function(spec) {
  c(
    sort(list.files(file.path(spec, "vectors"), pattern = "\\.json$", full.names = TRUE)),
    sort(list.files(file.path(spec, "vectors", "published"), pattern = "\\.json$", full.names = TRUE))
  )
}

read_vectors <- function(path) jsonlite::read_json(path, simplifyVector = FALSE)

# -- byte rules (spec/CONVENTIONS.md) -----------------------------------------------------------

b64url_encode <- function(bytes) {
  text <- openssl::base64_encode(bytes)
  sub("=+$", "", chartr("+/", "-_", text))
}

b64url_decode <- function(text) {
  text <- chartr("-_", "+/", text)
  pad <- (4 - nchar(text) %% 4) %% 4
  openssl::base64_decode(paste0(text, strrep("=", pad)))
}

utf8_bytes <- function(text) charToRaw(enc2utf8(text))

form_component <- function(text, space = "+") {
  bytes <- utf8_bytes(text)
  if (length(bytes) == 0) {
    return("")
  }
  codes <- as.integer(bytes)
  kept <- (codes >= 0x41 & codes <= 0x5a) | (codes >= 0x61 & codes <= 0x7a) |
    (codes >= 0x30 & codes <= 0x39) | codes %in% c(0x2d, 0x2e, 0x5f, 0x7e)
  out <- sprintf("%%%02X", codes)
  out[kept] <- vapply(bytes[kept], rawToChar, "")
  out[codes == 0x20] <- space
  paste(out, collapse = "")
}

# Python's json.dumps(separators=(",", ":"), ensure_ascii=True) of one string: non-ASCII as \uXXXX
# (UTF-16 surrogate pairs above U+FFFF), the short escapes for quote, backslash and controls.
json_string <- function(text) {
  short <- c("34" = "\\\"", "92" = "\\\\", "10" = "\\n", "13" = "\\r", "9" = "\\t", "8" = "\\b", "12" = "\\f")
  parts <- vapply(utf8ToInt(text), function(cp) {
    if (!is.na(short[as.character(cp)])) {
      return(short[[as.character(cp)]])
    }
    if (cp > 0xFFFF) {
      v <- cp - 0x10000
      return(sprintf("\\u%04x\\u%04x", 0xD800 + bitwShiftR(v, 10), 0xDC00 + bitwAnd(v, 0x3FF)))
    }
    if (cp < 32 || cp > 127) sprintf("\\u%04x", cp) else intToUtf8(cp)
  }, "")
  paste0("\"", paste(parts, collapse = ""), "\"")
}

json_object <- function(pairs) {
  members <- vapply(pairs, function(p) paste0(json_string(p[[1]]), ":", json_string(p[[2]])), "")
  paste0("{", paste(members, collapse = ","), "}")
}

form_encode <- function(pairs) {
  paste(vapply(pairs, function(p) paste0(form_component(p[[1]]), "=", form_component(p[[2]])), ""), collapse = "&")
}

# rfc: id and secret percent-encoded first as form fields are, except that a space is %20, not '+'
# (spec/CONVENTIONS.md, "HTTP Basic client authentication").
basic_header <- function(id, secret, encoding = "rfc") {
  if (identical(encoding, "rfc")) {
    id <- form_component(id, space = "%20")
    secret <- form_component(secret, space = "%20")
  }
  paste("Basic", openssl::base64_encode(c(utf8_bytes(id), charToRaw(":"), utf8_bytes(secret))))
}

canonical_json <- function(text) {
  value <- jsonlite::fromJSON(text, simplifyVector = FALSE)
  as.character(jsonlite::toJSON(value, auto_unbox = TRUE, digits = NA, null = "null"))
}

# -- keys, built from files and JWKs by R alone -------------------------------------------------

der_length <- function(n) {
  if (n < 128) {
    return(as.raw(n))
  }
  bytes <- integer()
  while (n > 0) {
    bytes <- c(n %% 256, bytes)
    n <- n %/% 256
  }
  as.raw(c(0x80 + length(bytes), bytes))
}

strip_zeros <- function(bytes) {
  while (length(bytes) > 1 && bytes[[1]] == as.raw(0)) bytes <- bytes[-1]
  bytes
}

der_integer <- function(bytes) {
  bytes <- strip_zeros(as.raw(bytes))
  if (as.integer(bytes[[1]]) >= 0x80) {
    bytes <- c(as.raw(0), bytes)
  }
  c(as.raw(0x02), der_length(length(bytes)), bytes)
}

der_sequence <- function(...) {
  content <- c(...)
  c(as.raw(0x30), der_length(length(content)), content)
}

pem <- function(label, der) {
  body <- openssl::base64_encode(der)
  lines <- substring(body, seq(1, nchar(body), 64), pmin(seq(64, nchar(body) + 63, 64), nchar(body)))
  paste0("-----BEGIN ", label, "-----\n", paste(lines, collapse = "\n"), "\n-----END ", label, "-----\n")
}

# An RSA JWK -> openssl keys, through PKCS#1 DER written here (RFC 8017 A.1).
rsa_from_jwk <- function(jwk) {
  int <- function(name) der_integer(b64url_decode(jwk[[name]]))
  public <- openssl::read_pubkey(pem("RSA PUBLIC KEY", der_sequence(int("n"), int("e"))))
  private <- NULL
  if (all(c("d", "p", "q", "dp", "dq", "qi") %in% names(jwk))) {
    der <- der_sequence(
      der_integer(as.raw(0)), int("n"), int("e"), int("d"), int("p"), int("q"), int("dp"), int("dq"), int("qi")
    )
    private <- openssl::read_key(pem("RSA PRIVATE KEY", der))
  }
  list(kty = "RSA", public = public, private = private)
}

group_key <- function(group, spec) {
  key <- group$key
  if (is.null(key)) {
    return(NULL)
  }
  if (!is.null(key$jwk)) {
    if (identical(key$jwk$kty, "oct")) {
      return(list(kty = "oct", secret = b64url_decode(key$jwk$k)))
    }
    if (identical(key$jwk$kty, "RSA")) {
      return(rsa_from_jwk(key$jwk))
    }
    return(list(kty = key$jwk$kty))
  }
  path <- file.path(spec, key$file)
  if (identical(key$kty, "oct")) {
    return(list(kty = "oct", secret = readBin(path, "raw", file.info(path)$size)))
  }
  private <- openssl::read_key(path)
  list(kty = key$kty, public = private$pubkey, private = private, public_jwk = key$publicJwk)
}

hash_of <- function(alg) {
  switch(substr(alg, 3, 5),
    "256" = openssl::sha256,
    "384" = openssl::sha384,
    "512" = openssl::sha512
  )
}

# -- one test -> a list of checks (ok = TRUE / FALSE, or NA when the check does not apply) -----

check <- function(name, ok, detail = "") list(name = name, ok = ok, detail = detail)

key_family <- function(kty) switch(kty, RSA = c("RS", "PS"), EC = "ES", oct = "HS", character())

replay_openssl <- function(test, group, spec, profile_dir = file.path(spec, "profiles")) {
  checks <- list()
  add <- function(...) checks[[length(checks) + 1]] <<- check(...)
  inter <- test$intermediate %||% list()
  expected <- test$expected %||% list()
  input <- test$input %||% list()
  generated <- startsWith(group$source %||% "", "m2mauth core")
  key <- group_key(group, spec)

  if (!is.null(key$public_jwk) && identical(key$kty, "RSA")) {
    n <- strip_zeros(as.raw(unclass(as.list(key$public)$data$n)))
    add("group key matches publicJwk n", identical(n, strip_zeros(b64url_decode(key$public_jwk$n))))
  }
  if (!is.null(inter$header) && !is.null(inter$signingInput)) {
    built <- paste0(b64url_encode(utf8_bytes(inter$header)), ".", b64url_encode(utf8_bytes(inter$claims)))
    add("signing input = b64url(header) . b64url(claims)", identical(built, inter$signingInput))
    if (generated) {
      add("header JSON is canonical", identical(canonical_json(inter$header), inter$header))
      add("claims JSON is canonical", identical(canonical_json(inter$claims), inter$claims))
    }
  }
  jws <- expected$jws
  if (!is.null(jws)) {
    parts <- strsplit(jws, ".", fixed = TRUE)[[1]]
    add("jws has three parts", length(parts) == 3)
    add("jws starts with the signing input", identical(paste(parts[1:2], collapse = "."), inter$signingInput))
    header <- jsonlite::fromJSON(rawToChar(b64url_decode(parts[[1]])), simplifyVector = FALSE)
    alg <- header$alg
    data <- charToRaw(inter$signingInput)
    signature <- b64url_decode(parts[[3]])
    family <- substr(alg, 1, 2)
    if (family == "HS") {
      mac <- as.raw(unclass(hash_of(alg)(data, key = key$secret)))
      add(paste(alg, "HMAC recomputed"), identical(mac, signature))
    } else if (family == "RS") {
      add(paste(alg, "signature verifies"), isTRUE(openssl::signature_verify(data, signature, hash_of(alg), key$public)))
      if (!is.null(key$private)) {
        again <- openssl::signature_create(data, hash_of(alg), key = key$private)
        add(paste(alg, "re-signed byte for byte"), identical(as.raw(again), signature))
      }
    } else if (family == "ES") {
      size <- length(signature) / 2
      der <- openssl::ecdsa_write(signature[seq_len(size)], signature[size + seq_len(size)])
      add(paste(alg, "signature verifies"), isTRUE(openssl::signature_verify(data, der, hash_of(alg), key$public)))
      add(paste(alg, "signature bytes"), NA, "verify-only: ECDSA signatures are randomised")
    } else {
      add(paste(alg, "signature"), NA, "verify-only: RSA-PSS is randomised and R's openssl has no PSS verify")
    }
  }
  request <- expected$tokenRequest
  if (!is.null(request)) {
    form <- request$form
    field <- function(name) {
      for (pair in form) if (identical(pair[[1]], name)) return(pair[[2]])
      NULL
    }
    header <- function(name) {
      for (pair in request$headers) if (identical(tolower(pair[[1]]), tolower(name))) return(pair[[2]])
      NULL
    }
    add("Accept: application/json first", identical(request$headers[[1]], list("Accept", "application/json")))
    shape <- request$encoding %||% "form" # spec/README.md "Request shapes": json or none for provider logins
    if (identical(request$method, "POST") && identical(shape, "json")) {
      add("JSON body re-encoded byte for byte", identical(json_object(form), request$body))
      add("Content-Type: application/json", identical(request$headers[[2]], list("Content-Type", "application/json")))
    } else if (identical(request$method, "POST") && identical(shape, "none")) {
      add("no body", identical(request$body, "") && length(form) == 0)
    } else if (identical(request$method, "POST")) {
      add("form body re-encoded byte for byte", identical(form_encode(form), request$body))
      add(
        "Content-Type: application/x-www-form-urlencoded",
        identical(request$headers[[2]], list("Content-Type", "application/x-www-form-urlencoded"))
      )
    } else {
      base <- sub("\\?.*$", "", request$url)
      add("GET: no body", identical(request$body, ""))
      add("GET: query string re-encoded byte for byte", identical(paste0(base, "?", form_encode(form)), request$url))
    }
    authorization <- header("Authorization")
    if (!is.null(authorization) && identical(shape, "none")) {
      # A user's login (RFC 7617): username:password as UTF-8, nothing percent-encoded.
      add("Basic login header recomputed", identical(basic_header(input$username, input$password, "raw"), authorization))
    } else if (!is.null(authorization)) {
      profile <- jsonlite::read_json(file.path(profile_dir, paste0(input$profile, ".json")))
      encoding <- input$basic_encoding %||% profile$basic_encoding %||% "rfc"
      add(
        sprintf("Basic header recomputed (%s encoding)", encoding),
        identical(basic_header(input$client_id, input$client_secret, encoding), authorization)
      )
    }
    for (name in c("client_id", "client_secret", "username", "password", "refresh_token")) {
      value <- field(if (name == "refresh_token" && !is.null(field("refreshToken"))) "refreshToken" else name)
      if (!is.null(value) && !is.null(input[[name]])) {
        add(sprintf("form %s is the input's", name), identical(value, input[[name]]))
      }
    }
    for (name in c("assertion", "client_assertion")) {
      if (!is.null(field(name)) && !is.null(jws)) {
        add(sprintf("form %s is the jws", name), identical(field(name), jws))
      }
    }
  }
  if (identical(test$result, "invalid")) {
    claims <- if (!is.null(inter$claims)) jsonlite::fromJSON(inter$claims, simplifyVector = FALSE) else NULL
    code <- test$error_code
    if (identical(code, "key_algorithm_mismatch")) {
      kty <- key$kty
      if (!is.null(input$service_key)) kty <- "RSA"
      add("the key cannot sign the algorithm asked", !(substr(input$alg, 1, 2) %in% key_family(kty)))
    } else if (identical(code, "lifetime_exceeded")) {
      add("exp - iat is over the cap", (claims$exp - claims$iat) > input$max_lifetime)
    } else if (identical(code, "audience_mismatch")) {
      add("aud is not the token URL", !identical(claims$aud, input$token_url %||% ""))
    } else if (identical(code, "missing_claim")) {
      add("a required claim is missing", !all(unlist(input$required_claims) %in% names(claims)))
    } else if (identical(code, "missing_credential")) {
      add("the missing credential is absent", !any(unlist(input$missing) %in% names(input)))
    } else if (identical(code, "password_login_retired")) {
      add("usgs-m2m was given a password", identical(input$profile, "usgs-m2m") && !is.null(input$password))
    } else if (identical(code, "invalid_credential")) {
      add("the Basic login's username holds ':' (RFC 7617)", grepl(":", input$username %||% "", fixed = TRUE))
    } else if (identical(code, "subject_token_expired")) {
      parts <- strsplit(input$subject_token %||% "", ".", fixed = TRUE)[[1]]
      exp <- if (length(parts) == 3) jsonlite::fromJSON(rawToChar(b64url_decode(parts[[2]])))$exp else NULL
      add("the JWT subject token's exp is not after now", !is.null(exp) && exp <= input$now)
    } else {
      add(paste("invalid:", code), NA, "no R-side check for this error code")
    }
  }
  checks
}

# Every vector of the spec, replayed: a data frame file / tcId / check / ok / detail.
replay_all_openssl <- function(spec = spec_dir()) {
  rows <- list()
  for (path in vector_files(spec)) {
    doc <- read_vectors(path)
    for (group in doc$testGroups) {
      for (test in group$tests) {
        for (chk in replay_openssl(test, group, spec)) {
          rows[[length(rows) + 1]] <- data.frame(
            file = basename(path), tcId = test$tcId, check = chk$name, ok = chk$ok, detail = chk$detail,
            stringsAsFactors = FALSE
          )
        }
      }
    }
  }
  do.call(rbind, rows)
}

`%||%` <- function(x, y) if (is.null(x)) y else x
