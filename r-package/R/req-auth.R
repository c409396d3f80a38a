# httr2 integration: a request step that adds the token (Authorization: Bearer, or the profile's own
# header), cached across calls and renewed before it expires, and a perform wrapper that retries
# once with a fresh token on any 401 or on the API's own expiry answer.
#
# The token cache lives in this package (the$handles), one handle per profile + arguments. Each
# handle asks the core's TokenSource for tokens (its own margin, single flight and store), or,
# with a core that has no TokenSource, fetches with fetch_token(). The step is httr2's req_oauth()
# with our own flow and cache: exported by httr2 but marked internal, so its behaviour is not
# promised and has changed. What we rely on, tested on httr2 0.2.2 (Debian 12) and 1.3.0:
# httr2 calls the cache's get() when the request is performed (a request built long before it is
# sent still gets a valid token) and the flow when get() gives nothing; after a 401 with
# WWW-Authenticate error="invalid_token" it re-signs once, and that re-sign means "the server
# refused this token": before 1.1.1 it calls the flow with the cached token still in hand, from
# 1.1.1 it first calls the cache's clear() and then the flow. Either way the flow renews by force.

#' Authenticate an httr2 request with a cached, renewed m2mauth token
#'
#' Adds \code{Authorization: Bearer <token>} when the request is performed. The
#' token comes from the Python core for \code{profile} and the credentials in
#' \code{...}; it is cached in this R session across requests (keyed by the
#' profile and the arguments) and reused until less than a margin is left: 30 s
#' or 10\% of its lifetime, whichever is larger (at most half the lifetime).
#' Building the request does not start Python; performing it does.
#'
#' When the server answers 401 with \code{WWW-Authenticate: Bearer
#' error="invalid_token"}, \code{httr2::req_perform()} renews the token and
#' retries once. \code{\link{m2m_req_perform}()} retries once on any 401.
#'
#' A profile whose API takes the token in its own header (\code{"usgs-m2m"}:
#' \code{X-Auth-Token: <api key>}, no scheme) is presented that way, and the
#' API's own expiry answer (USGS: \code{errorCode} \code{AUTH_EXPIRED}, which
#' is not a 401) renews the key and retries once. \code{\link{m2m_req_perform}()}
#' does both on every httr2. \code{httr2::req_perform()} does both on httr2 >=
#' 1.0.6, which signs requests when they are sent (the retry needs the request to
#' have no \code{httr2::req_retry()} of its own: yours replaces it); on older
#' httr2 (Debian 12 has 0.2.2) it can only write \code{Authorization: Bearer},
#' so it stops with an \code{m2mauth_error_presentation_needs_m2m_req_perform}
#' error rather than send the key in the wrong header.
#'
#' @param req An httr2 request.
#' @param profile A provider profile name (e.g. \code{"clms"}), a path to a
#'   profile JSON file, or a named list.
#' @param ... Credentials and options, by name, as for \code{\link{m2m_token}()}:
#'   \code{service_key}, \code{client_id}, \code{client_secret},
#'   \code{private_key}, \code{token_url}, ..., and \code{flow},
#'   \code{auth_method}, \code{timeout}; with a core that has a TokenSource also
#'   \code{margin} (seconds before expiry to renew) and \code{store}.
#' @return The request, with the token step added.
#' @examples
#' \dontrun{
#' req <- httr2::request("https://land.copernicus.eu/api/@search")
#' req <- req_auth_m2m(req, "clms", service_key = "~/land-copernicus.json")
#' resp <- httr2::req_perform(req)
#' }
#' @export
req_auth_m2m <- function(req, profile, ...) {
  check_request(req)
  if (missing(profile)) {
    m2m_abort(
      "`profile` is missing.",
      condition_classes("invalid_argument", "config"),
      list(code = "invalid_argument", hint = "Name the provider, e.g. req_auth_m2m(req, \"clms\", service_key = ...).")
    )
  }
  check_dots_named(...)
  handle <- token_handle(profile, list(...))
  req <- httr2::req_oauth(
    req,
    flow = httr2_flow,
    flow_params = list(handle = handle),
    cache = handle_cache(handle)
  )
  req <- present_at_send(req, handle)
  attr(req, "m2mauth") <- handle
  req
}

# httr2 >= 1.0.6 keeps the OAuth step as a signing function (policy auth_sign) that it calls just
# before each send, retries included. Wrapping that function lets the profile's presentation
# (presentation.py) choose the header at send time, as Auth does in Python; and a retry policy
# whose is_transient() recognises the API's own expiry answer makes the next send renew the token.
# Older httr2 signs once with Authorization: Bearer and offers no such hook: there the cache and
# the flow refuse a token meant for another header (see refuse_unpresentable()).
present_at_send <- function(req, handle) {
  sign <- req$policies$auth_sign
  handle$signs_at_send <- is.list(sign) && is.function(sign$fun)
  if (!handle$signs_at_send) {
    return(req)
  }
  req$policies$auth_sign$fun <- presenting_signer(sign$fun, handle)
  if (is.null(req$policies$retry_max_tries) && is.null(req$policies$retry_max_wait)) {
    req <- httr2::req_retry(
      req,
      max_tries = 2,
      is_transient = expiry_answer_detector(handle),
      backoff = function(i) 0
    )
  }
  req
}

presenting_signer <- function(sign, handle) {
  force(sign)
  function(req, ...) {
    req <- sign(req, ...)
    token <- handle$token
    if (is.null(token) || identical(token$header_name %||% "Authorization", "Authorization")) {
      return(req)
    }
    httr2::req_headers(req, Authorization = NULL, !!!presented_header(token))
  }
}

# The header a token goes in, as its profile says: X-Auth-Token: <key> for USGS M2M.
presented_header <- function(token) {
  value <- if (nzchar(token$token_type)) paste(token$token_type, token$access_token) else token$access_token
  stats::setNames(list(value), token$header_name)
}

# httr2's is_transient() for the requests of one handle: TRUE for the profile's own expiry answer,
# and for a 401 to a token in the profile's own header (httr2 renews only Bearer tokens refused
# with error="invalid_token"); then the next send renews by force.
# One function per handle, so m2m_req_perform() can tell this retry policy from the user's own.
expiry_answer_detector <- function(handle) {
  if (is.null(handle$expiry_detector)) {
    handle$expiry_detector <- function(resp) {
      own_header <- !identical(handle$token$header_name %||% "Authorization", "Authorization")
      if ((httr2::resp_status(resp) == 401 && !own_header) || !presented_expired(resp, handle)) {
        return(FALSE)
      }
      handle$httr2_token <- NULL
      handle$cleared <- TRUE
      TRUE
    }
  }
  handle$expiry_detector
}

# On httr2 without send-time signing, a token for another header would go out as
# Authorization: Bearer, which such an API ignores (USGS answers as if no key was sent).
refuse_unpresentable <- function(handle) {
  token <- handle$token
  if (isTRUE(handle$signs_at_send) || is.null(token) ||
    identical(token$header_name %||% "Authorization", "Authorization")) {
    return(invisible())
  }
  m2m_abort(
    sprintf(
      "Profile %s sends its token as %s, which httr2 %s cannot do from httr2::req_perform().",
      format_profile(handle$profile), token$header_name, format(utils::packageVersion("httr2"))
    ),
    condition_classes("presentation_needs_m2m_req_perform", "config"),
    list(
      code = "presentation_needs_m2m_req_perform",
      hint = "Perform the request with m2mauth::m2m_req_perform(req), or update httr2 to 1.0.6 or later."
    )
  )
}

format_profile <- function(profile) {
  if (is.character(profile) && length(profile) == 1) sprintf("\"%s\"", profile) else "(given as a list)"
}

#' Perform a request, renewing the token once on 401
#'
#' Like \code{httr2::req_perform()}, but when a request authenticated with
#' \code{\link{req_auth_m2m}()} is answered 401 (with or without
#' \code{WWW-Authenticate}), the token is renewed and the request sent once more.
#' Other requests are performed unchanged.
#'
#' @param req An httr2 request.
#' @param ... Passed to \code{httr2::req_perform()} (e.g. \code{path},
#'   \code{verbosity}).
#' @return An httr2 response.
#' @export
m2m_req_perform <- function(req, ...) {
  check_request(req)
  handle <- attr(req, "m2mauth")
  if (!is.environment(handle)) {
    return(httr2::req_perform(req, ...))
  }
  if (is.null(handle$token) && has_token_source()) {
    # The profile decides the header (presentation), so know the token first; httr2's cache gets it
    # too, so its OAuth step does not take this first fetch for a refusal.
    remember_for_httr2(handle, handle_token(handle))
  }
  if (!is.null(handle$token) && !identical(handle$token$header_name %||% "Authorization", "Authorization")) {
    return(perform_presented(req, handle, ...))
  }
  forced <- handle$forced
  first <- tryCatch(httr2::req_perform(req, ...), httr2_http_401 = function(cnd) cnd)
  unauthorized <- inherits(first, "httr2_http_401") ||
    (inherits(first, "httr2_response") && httr2::resp_status(first) == 401)
  if (!unauthorized || handle$forced > forced) {
    # Not refused, or httr2 already renewed the token after an invalid_token answer.
    if (inherits(first, "condition")) {
      stop(first)
    }
    return(first)
  }
  handle$httr2_token <- NULL # the server refused a token we thought valid: renew and retry once
  httr2::req_perform(req, ...)
}

# A profile whose API takes the token in its own header (USGS M2M: X-Auth-Token, no scheme; see
# the core's presentation.py). httr2's OAuth step can only write Authorization: Bearer, so the
# request is sent without it, with the profile's header; a 401, or the API's own "expired" answer
# (USGS: errorCode AUTH_EXPIRED), renews the token once and sends the request once more.
perform_presented <- function(req, handle, ...) {
  plain <- req
  plain$policies$auth_oauth <- NULL
  plain$policies$auth_sign <- NULL
  if (identical(plain$policies$retry_is_transient, handle$expiry_detector)) {
    plain$policies[startsWith(names(plain$policies), "retry_")] <- NULL # ours: the renewal is done here
  }
  send <- function(token) {
    httr2::req_perform(
      httr2::req_error(httr2::req_headers(plain, !!!presented_header(token)), is_error = function(resp) FALSE),
      ...
    )
  }
  first <- send(handle_token(handle))
  if (!presented_expired(first, handle)) {
    return(first)
  }
  send(remember_for_httr2(handle, handle_token(handle, force = TRUE)))
}

# httr2's cache holds the token handle_token() last gave, so a later httr2::req_perform() of the same
# request neither sends an older one nor takes the renewal for a refusal (see httr2_flow()).
remember_for_httr2 <- function(handle, token) {
  handle$httr2_token <- httr2::oauth_token(access_token = token$access_token, token_type = "bearer")
  token
}

presented_expired <- function(resp, handle) {
  if (httr2::resp_status(resp) == 401) {
    return(TRUE)
  }
  signal <- handle$expired_when
  if (is.null(signal)) {
    signal <- tryCatch(
      {
        expired <- reticulate::py_get_attr(reticulate::py_get_attr(handle$source, "presentation"), "expired")
        if (is.null(r_value(expired))) list() else list(path = py_attr(expired, "path"), values = py_attr(expired, "values"))
      },
      error = function(cnd) list()
    )
    handle$expired_when <- signal
  }
  if (length(signal) == 0 || !grepl("json", httr2::resp_content_type(resp) %||% "", fixed = TRUE)) {
    return(FALSE)
  }
  body <- tryCatch(httr2::resp_body_json(resp), error = function(cnd) NULL)
  for (part in strsplit(signal$path, ".", fixed = TRUE)[[1]]) {
    body <- if (is.list(body)) body[[part]] else NULL
  }
  is.character(body) && length(body) == 1 && body %in% unlist(signal$values)
}

token_handle <- function(profile, args) {
  for (handle in the$handles) {
    if (identical(handle$profile, profile) && identical(handle$args, args)) {
      return(handle)
    }
  }
  handle <- new.env(parent = emptyenv())
  handle$profile <- profile
  handle$args <- args
  handle$margin <- if (is.numeric(args$margin)) args$margin else NULL
  handle$token <- NULL
  handle$httr2_token <- NULL
  handle$source <- NULL
  handle$cleared <- FALSE
  handle$fetched <- 0L
  handle$forced <- 0L
  handle$signs_at_send <- FALSE
  handle$expiry_detector <- NULL
  the$handles <- c(the$handles, list(handle))
  handle
}

# Forget every cached token of this session (the next request fetches a new one).
forget_tokens <- function() {
  the$handles <- list()
  invisible()
}

refresh_margin <- function(lifetime, margin = NULL) {
  if (is.null(lifetime) || !is.finite(lifetime) || lifetime <= 0) {
    return(margin %||% 30)
  }
  if (!is.null(margin)) {
    return(min(margin, lifetime / 2))
  }
  min(max(30, 0.1 * lifetime), lifetime / 2)
}

token_is_fresh <- function(token, margin = NULL, now = Sys.time()) {
  if (is.null(token)) {
    return(FALSE)
  }
  if (is.null(token$expires_at)) {
    return(TRUE)
  }
  left <- as.numeric(token$expires_at) - as.numeric(now)
  lifetime <- if (is.null(token$issued_at)) NULL else as.numeric(token$expires_at) - as.numeric(token$issued_at)
  left > refresh_margin(lifetime, margin)
}

handle_cache <- function(handle) {
  list(
    get = function() {
      refuse_unpresentable(handle)
      if (token_is_fresh(handle$token, handle$margin)) handle$httr2_token else NULL
    },
    set = function(token) {
      handle$httr2_token <- token
    },
    clear = function() {
      handle$httr2_token <- NULL
      handle$cleared <- TRUE
    }
  )
}

# httr2 calls this when its cache has no usable token, or to renew one the server refused. A
# refusal reaches here in two ways (see the header): clear() was called first (httr2 >= 1.1.1), or
# the token in hand is still fresh by our clock (httr2 < 1.1.1, or m2m_req_perform()'s retry).
# Both renew by force, naming the refused token so the core does not hand it back.
httr2_flow <- function(handle) {
  forced <- isTRUE(handle$cleared) || token_is_fresh(handle$token, handle$margin)
  handle$cleared <- FALSE
  token <- handle_token(handle, force = forced)
  refuse_unpresentable(handle)
  # No expires_in: the cache above decides freshness with the core's margin, not httr2's 5 s.
  httr2::oauth_token(access_token = token$access_token, token_type = "bearer")
}

has_token_source <- function() {
  if (is.null(the$has_token_source)) {
    mod <- core()
    the$has_token_source <- reticulate::py_has_attr(mod, "TokenSource")
  }
  the$has_token_source
}

source_only <- c("margin", "store", "retry")

handle_token <- function(handle, force = FALSE) {
  call <- quote(req_auth_m2m())
  kinds <- c(margin = "number", timeout = "number")
  mod <- core()
  if (has_token_source()) {
    handle_source(handle, call)
    rejected <- if (force && !is.null(handle$token)) handle$token$access_token
    token <- py_invoke(
      reticulate::py_get_attr(handle$source, "token"),
      list(force = force, rejected = rejected),
      call = call
    )
  } else {
    args <- handle$args[setdiff(names(handle$args), source_only)]
    token <- py_invoke(
      reticulate::py_get_attr(mod, "fetch_token"),
      c(list(profile = handle$profile), args),
      kinds,
      call = call
    )
  }
  if (force) {
    handle$forced <- handle$forced + 1L
  }
  if (!identical(token$access_token, handle$token$access_token)) {
    handle$fetched <- handle$fetched + 1L
  }
  handle$token <- token
  token
}

# The core's TokenSource behind a handle, made on first use (building a request starts no Python).
handle_source <- function(handle, call) {
  if (is.null(handle$source)) {
    handle$source <- py_invoke(
      reticulate::py_get_attr(core(), "TokenSource"),
      c(list(profile = handle$profile), handle$args),
      c(margin = "number", timeout = "number"),
      call = call
    )
  }
  handle$source
}
