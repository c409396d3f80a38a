#' Conditions signalled by m2mauth
#'
#' Every error m2mauth signals is a condition of class \code{m2mauth_error}, with
#' a more precise class before it, so callers can catch exactly what they
#' handle:
#' \itemize{
#'   \item \code{m2mauth_config_error}: bad input (a key that cannot be read, an
#'     algorithm that does not fit the key, a missing credential, an argument of
#'     the wrong type);
#'   \item \code{m2mauth_token_endpoint_error}: the token endpoint answered with an
#'     error (it carries \code{status}, \code{error}, \code{error_description});
#'   \item \code{m2mauth_transport_error}: the endpoint could not be reached;
#'   \item \code{m2mauth_python_error}: the Python core cannot be used (its
#'     message says what to run);
#'   \item \code{m2mauth_error_<code>}: the core's stable error code, e.g.
#'     \code{m2mauth_error_key_algorithm_mismatch},
#'     \code{m2mauth_error_missing_credential}, \code{m2mauth_error_invalid_request}
#'     (and the provider's own name for it, e.g.
#'     \code{m2mauth_error_body_not_form_encoded}).
#' }
#' Each carries the fields \code{code}, \code{hint} (the fix, also printed with
#' the message), and where known \code{status}, \code{error},
#' \code{error_description}, \code{retry_after}. Messages never contain a
#' secret. Pass a caught condition to \code{\link{m2m_explain}()} for the
#' provider's explanation.
#'
#' @name m2mauth_error
#' @examples
#' \dontrun{
#' tryCatch(
#'   m2m_sign_jwt(list(iss = "me"), "land-copernicus.json", alg = "HS256"),
#'   m2mauth_error_key_algorithm_mismatch = function(cnd) conditionMessage(cnd)
#' )
#' }
NULL

has_rlang <- function() {
  if (is.null(the$has_rlang)) {
    the$has_rlang <- requireNamespace("rlang", quietly = TRUE)
  }
  the$has_rlang
}

# The message as printed: the problem, then the fix on its own lines.
condition_text <- function(message, hint = NULL) {
  hint <- hint[!is.na(hint) & nzchar(hint)]
  if (length(hint) == 0) {
    return(message)
  }
  paste0(message, "\nHint: ", paste(hint, collapse = "\n"))
}

# Only the function's name: arguments may hold credentials and are never shown.
bare_call <- function(call) {
  if (is.null(call) || !is.call(call)) {
    return(NULL)
  }
  call[1]
}

new_condition <- function(message, class, fields = list(), call = NULL, bullets = NULL) {
  text <- condition_text(message, bullets %||% fields$hint)
  fields <- fields[!vapply(fields, is.null, logical(1))]
  call <- bare_call(call)
  if (has_rlang()) {
    return(do.call(rlang::error_cnd, c(list(class = class, message = text, call = call), fields), quote = TRUE))
  }
  structure(c(list(message = text, call = call), fields), class = c(class, "error", "condition"))
}

m2m_abort <- function(message, class, fields = list(), call = NULL) {
  stop(new_condition(message, class, fields, call))
}

condition_classes <- function(code, family = NULL, provider_code = NULL) {
  classes <- paste0("m2mauth_error_", clean_code(code))
  if (!is.null(provider_code) && !identical(provider_code, code)) {
    classes <- c(paste0("m2mauth_error_", clean_code(provider_code)), classes)
  }
  if (!is.null(family)) {
    classes <- c(classes, paste0("m2mauth_", family, "_error"))
  }
  c(classes, "m2mauth_error")
}

clean_code <- function(code) gsub("[^A-Za-z0-9_]", "_", as.character(code %||% "m2mauth_error"))

# A core error (as described by the call helper's Python side) -> a classed R condition.
core_condition <- function(info, call = NULL) {
  family <- info$family
  if (identical(family, "internal")) {
    family <- NULL
  }
  fields <- list(
    code = info$code,
    hint = info$hint,
    status = info$status,
    error = info$error,
    error_description = info$error_description,
    retry_after = info$retry_after,
    provider_code = info$provider_code,
    python_class = info$python_class,
    python_exception = info$exception
  )
  new_condition(
    info$message %||% "the Python core failed",
    condition_classes(info$code, family, info$provider_code),
    fields,
    call
  )
}

`%||%` <- function(x, y) if (is.null(x)) y else x
