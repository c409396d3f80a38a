# Token stores from R without reaching into reticulate, and forgetting a token the server revoked.
# A store is the core's own object (a Python reference): the same file, Redis key and record format
# as a Python program using the same store, so R and Python processes share tokens.

#' Token stores: where tokens are kept and shared
#'
#' Pass a store as \code{store =} to \code{\link{req_auth_m2m}()},
#' \code{\link{m2m_token}()} or \code{\link{m2m_session}()}. Tokens in a store
#' are shared by every R or Python process that uses the same store, and a
#' refresh token the provider rotates is kept in it, so the next run (another R
#' session) that passes the original refresh token uses the newest one.
#' \itemize{
#'   \item \code{m2m_file_store()}: files in a private folder (0700, files 0600),
#'     by default m2mauth's cache folder for this user (\code{M2MAUTH_HOME}
#'     overrides); safe across processes on one machine.
#'   \item \code{m2m_memory_store()}: this R session only.
#'   \item \code{m2m_redis_store()}: a Redis server, shared across machines
#'     (needs the Python package \code{redis}).
#' }
#' Without a store, tokens are cached in the R session, and a rotated refresh
#' token is still kept in the user's m2mauth data folder (turn that off with
#' \code{keep_refresh_token = FALSE}).
#'
#' @param path A folder for the token files (\code{NULL}: the default folder).
#' @param url The Redis URL, e.g. \code{"redis://127.0.0.1:6379/0"}.
#' @param prefix The prefix of m2mauth's Redis keys.
#' @return The core's store, a Python object to pass as \code{store =}.
#' @examples
#' \dontrun{
#' store <- m2m_file_store()
#' req <- req_auth_m2m(httr2::request(url), "openaire",
#'                     refresh_token = Sys.getenv("OPENAIRE_REFRESH_TOKEN"), store = store)
#' }
#' @name m2m_stores
#' @export
m2m_file_store <- function(path = NULL) {
  check_arg(path, "string", "path", null_ok = TRUE)
  new_store("FileStore", list(path = if (is.null(path)) NULL else path.expand(path)), quote(m2m_file_store()))
}

#' @rdname m2m_stores
#' @export
m2m_memory_store <- function() {
  new_store("MemoryStore", list(), quote(m2m_memory_store()))
}

#' @rdname m2m_stores
#' @export
m2m_redis_store <- function(url = "redis://127.0.0.1:6379/0", prefix = "m2mauth:") {
  check_arg(url, "string", "url")
  check_arg(prefix, "string", "prefix")
  new_store("RedisStore", list(url = url, prefix = prefix), quote(m2m_redis_store()))
}

new_store <- function(class, args, call) {
  mod <- core()
  py_invoke(reticulate::py_get_attr(mod, class), args, call = call)
}

#' Forget the token of a request, so the next one fetches a new token
#'
#' For a data API that refuses a revoked token with a bare 403 (no
#' \code{WWW-Authenticate: Bearer error="invalid_token"}), when you know the
#' server revoked it: the token is forgotten in this session and in its store
#' (a refresh token is kept). A 401 with \code{error="invalid_token"} needs no
#' call: \code{httr2::req_perform()} renews by itself.
#'
#' With \code{logout = TRUE} the token is also ended at the provider's logout
#' endpoint, for a profile that has one (\code{"usgs-m2m"}: USGS asks clients to
#' log an API key out after its final use), as \code{TokenSource$close(logout =
#' TRUE)} does in Python; the next request fetches a new one.
#'
#' @param req A request made with \code{\link{req_auth_m2m}()}.
#' @param logout \code{TRUE} to end the token at the provider's logout endpoint
#'   too (an error for a profile without one).
#' @return \code{req}, invisibly.
#' @examples
#' \dontrun{
#' resp <- tryCatch(httr2::req_perform(req), httr2_http_403 = function(cnd) {
#'   m2m_invalidate(req)
#'   httr2::req_perform(req)
#' })
#' m2m_invalidate(usgs_req, logout = TRUE) # at the end of a USGS M2M script
#' }
#' @export
m2m_invalidate <- function(req, logout = FALSE) {
  check_request(req)
  check_arg(logout, "flag", "logout")
  handle <- attr(req, "m2mauth")
  if (!is.environment(handle)) {
    m2m_abort(
      "`req` carries no m2mauth token.",
      condition_classes("invalid_argument", "config"),
      list(code = "invalid_argument", hint = "Pass a request made with req_auth_m2m(req, profile, ...).")
    )
  }
  if (isTRUE(logout)) {
    logout_request_token(handle)
  } else if (!is.null(handle$source)) {
    py_invoke(reticulate::py_get_attr(handle$source, "invalidate"), list(), call = quote(m2m_invalidate()))
  }
  handle$token <- NULL
  handle$httr2_token <- NULL
  invisible(req)
}

# m2m_token(..., store = ) keeps and shares tokens through the store: fetch_token() has no store,
# so the call goes to the core's TokenSource (the store's token when still fresh, else a new one).
token_from_store <- function(args, kinds, call) {
  mod <- core()
  source_args <- args[setdiff(names(args), c("session", "clock"))]
  source <- py_invoke(reticulate::py_get_attr(mod, "TokenSource"), source_args, kinds, call = call)
  py_invoke(reticulate::py_get_attr(source, "token"), list(), call = call)
}

# m2m_invalidate(req, logout = TRUE): the core's TokenSource.close(logout = TRUE) ends the token it
# holds (in memory or in the store) at the profile's logout endpoint and forgets it; for a profile
# without one it signals no_logout_endpoint, even before a token was fetched.
logout_request_token <- function(handle) {
  call <- quote(m2m_invalidate())
  if (!has_token_source()) {
    m2m_abort(
      "m2m_invalidate(logout = TRUE) needs a core with TokenSource.",
      condition_classes("python_too_old", "python"),
      list(code = "python_too_old", hint = "Update the Python core: m2mauth::install_m2mauth().")
    )
  }
  py_invoke(reticulate::py_get_attr(handle_source(handle, call), "close"), list(logout = TRUE), call = call)
  invisible()
}
