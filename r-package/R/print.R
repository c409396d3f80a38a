# The R shapes of the core's Token, Diagnosis and Explanation, and how they print. A token never
# prints its access or refresh token, whatever the printing function (print, format, str).

new_token <- function(access_token, token_type = "Bearer", expires_at = NULL, refresh_token = NULL,
                      scope = NULL, issued_at = NULL, header_name = "Authorization",
                      issued_token_type = NULL) {
  token <- list(
    access_token = access_token,
    token_type = token_type %||% "Bearer", # "" for a bare token in its own header (USGS M2M)
    header_name = header_name %||% "Authorization",
    expires_at = expires_at,
    refresh_token = refresh_token,
    scope = scope,
    issued_at = issued_at
  )
  # RFC 8693: what a token exchange issued (absent for every other grant).
  token$issued_token_type <- issued_token_type
  structure(token, class = "m2mauth_token")
}

format_seconds <- function(seconds) {
  seconds <- abs(round(seconds))
  if (seconds < 120) {
    return(sprintf("%d s", as.integer(seconds)))
  }
  if (seconds < 7200) {
    return(sprintf("%d min", as.integer(seconds %/% 60)))
  }
  sprintf("%.1f h", seconds / 3600)
}

#' Print a token without its secrets
#'
#' Tokens from \code{\link{m2m_token}()} and friends print their type, expiry and
#' scope; the access token and refresh token show as \code{<redacted>}. Read
#' \code{token$access_token} to use it.
#'
#' @param x An \code{m2mauth_token}.
#' @param now The time to count the remaining lifetime from.
#' @param ... Ignored.
#' @return \code{format()}: a character vector; \code{print()}: \code{x}, invisibly.
#' @export
format.m2mauth_token <- function(x, now = Sys.time(), ...) {
  expiry <- if (is.null(x$expires_at)) {
    "no expiry given"
  } else {
    left <- as.numeric(x$expires_at) - as.numeric(now)
    when <- format(x$expires_at, "%Y-%m-%d %H:%M:%S UTC", tz = "UTC")
    if (left > 0) {
      sprintf("expires %s (in %s)", when, format_seconds(left))
    } else {
      sprintf("expired %s (%s ago)", when, format_seconds(left))
    }
  }
  lines <- c(
    sprintf("<m2mauth_token> %s token, %s", x$token_type %||% "Bearer", expiry),
    "  access_token:  <redacted>"
  )
  if (!is.null(x$refresh_token)) {
    lines <- c(lines, "  refresh_token: <redacted>")
  }
  if (!is.null(x$scope)) {
    lines <- c(lines, sprintf("  scope:         %s", x$scope))
  }
  lines
}

#' @rdname format.m2mauth_token
#' @export
print.m2mauth_token <- function(x, ...) {
  cat(format(x, ...), sep = "\n")
  invisible(x)
}

#' @rdname format.m2mauth_token
#' @param object An \code{m2mauth_token}.
#' @importFrom utils str
#' @export
str.m2mauth_token <- function(object, ...) {
  cat(format(object), sep = "\n")
  invisible()
}

#' @rdname format.m2mauth_token
#' @export
as.character.m2mauth_token <- function(x, ...) {
  paste(format(x), collapse = "\n")
}

new_diagnosis <- function(header = list(), claims = list(), findings = NULL, header_json = NULL,
                          claims_json = NULL) {
  findings <- findings %||% data.frame(
    code = character(), severity = character(), message = character(), hint = character(),
    stringsAsFactors = FALSE
  )
  structure(
    list(
      ok = !any(findings$severity == "error"),
      header = header,
      claims = claims,
      findings = findings,
      header_json = header_json,
      claims_json = claims_json
    ),
    class = "m2mauth_diagnosis"
  )
}

wrap <- function(text, indent = 0, exdent = indent + 2, width = getOption("width", 80)) {
  strwrap(text, width = max(40, width - 1), indent = indent, exdent = exdent)
}

severity_mark <- c(error = "x", warning = "!", info = "i")

#' Print a diagnosis or an explanation
#'
#' \code{\link{m2m_inspect}()} returns an \code{m2mauth_diagnosis} and
#' \code{\link{m2m_explain}()} an \code{m2mauth_explanation}; they print each
#' problem with its fix.
#'
#' @param x An \code{m2mauth_diagnosis} or \code{m2mauth_explanation}.
#' @param ... Ignored.
#' @return \code{format()}: a character vector; \code{print()}: \code{x}, invisibly.
#' @export
format.m2mauth_diagnosis <- function(x, ...) {
  findings <- x$findings
  counts <- table(factor(findings$severity, levels = c("error", "warning", "info")))
  summary <- paste(
    c(
      if (counts[["error"]]) sprintf("%d error%s", counts[["error"]], if (counts[["error"]] > 1) "s" else ""),
      if (counts[["warning"]]) sprintf("%d warning%s", counts[["warning"]], if (counts[["warning"]] > 1) "s" else ""),
      if (counts[["info"]]) sprintf("%d note%s", counts[["info"]], if (counts[["info"]] > 1) "s" else "")
    ),
    collapse = ", "
  )
  lines <- sprintf("<m2mauth_diagnosis> %s", if (nrow(findings)) summary else "no problems found")
  if (!is.null(x$header_json)) {
    lines <- c(lines, paste("header:", x$header_json))
  }
  if (!is.null(x$claims_json)) {
    lines <- c(lines, paste("claims:", x$claims_json))
  }
  for (i in seq_len(nrow(findings))) {
    mark <- severity_mark[[findings$severity[[i]]]] %||% "-"
    lines <- c(lines, wrap(sprintf("%s %s: %s", mark, findings$code[[i]], findings$message[[i]]), exdent = 4))
    hint <- findings$hint[[i]]
    if (!is.na(hint) && nzchar(hint)) {
      lines <- c(lines, wrap(paste("fix:", hint), indent = 4, exdent = 9))
    }
  }
  lines
}

#' @rdname format.m2mauth_diagnosis
#' @export
print.m2mauth_diagnosis <- function(x, ...) {
  cat(format(x, ...), sep = "\n")
  invisible(x)
}

new_explanation <- function(code, message, hint = NULL, status = NULL, error = NULL,
                            error_description = NULL) {
  structure(
    list(
      code = code,
      message = message,
      hint = hint,
      status = status,
      error = error,
      error_description = error_description
    ),
    class = "m2mauth_explanation"
  )
}

#' @rdname format.m2mauth_diagnosis
#' @export
format.m2mauth_explanation <- function(x, ...) {
  what <- c(if (!is.null(x$status)) paste("HTTP", x$status), x$error)
  head <- sprintf(
    "<m2mauth_explanation> %s%s", x$code,
    if (length(what)) sprintf(" (%s)", paste(what, collapse = " ")) else ""
  )
  c(
    head,
    wrap(x$message, exdent = 2),
    if (!is.null(x$hint) && nzchar(x$hint)) wrap(paste("Fix:", x$hint), exdent = 5)
  )
}

#' @rdname format.m2mauth_diagnosis
#' @export
print.m2mauth_explanation <- function(x, ...) {
  cat(format(x, ...), sep = "\n")
  invisible(x)
}
