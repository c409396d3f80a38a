# httr2 integration: a request step that adds a bearer token, cached across calls and renewed
# before it expires, and a perform wrapper that retries once with a fresh token on any 401.
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
#' \code{X-Auth-Token: <api key>}) is presented that way by
#' \code{\link{m2m_req_perform}()}, which also renews once on the API's own
#' expiry answer (USGS: \code{errorCode} \code{AUTH_EXPIRED}); perform such
#' requests with it rather than \code{httr2::req_perform()}.
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
  attr(req, "m2mauth") <- handle
  req
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
    token <- handle_token(handle)
    handle$httr2_token <- httr2::oauth_token(access_token = token$access_token, token_type = "bearer")
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
  send <- function(token) {
    value <- if (nzchar(token$token_type)) paste(token$token_type, token$access_token) else token$access_token
    headers <- stats::setNames(list(value), token$header_name)
    httr2::req_perform(httr2::req_error(httr2::req_headers(plain, !!!headers), is_error = function(resp) FALSE), ...)
  }
  first <- send(handle_token(handle))
  if (!presented_expired(first, handle)) {
    return(first)
  }
  send(handle_token(handle, force = TRUE))
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
    if (is.null(handle$source)) {
      handle$source <- py_invoke(
        reticulate::py_get_attr(mod, "TokenSource"),
        c(list(profile = handle$profile), handle$args),
        kinds,
        call = call
      )
    }
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
