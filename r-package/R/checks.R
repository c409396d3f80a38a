# Argument checks for the generated wrappers: wrong types are caught in R, before Python starts,
# as m2mauth_error_invalid_argument (an m2mauth_config_error).

kind_descriptions <- c(
  string = "a single string",
  strings = "a character vector",
  int = "a whole number",
  number = "a single number",
  flag = "TRUE or FALSE",
  flag_or_string = "TRUE, FALSE or a single string",
  string_or_raw = "a single string or a raw vector",
  mapping = "a named list"
)

is_python_object <- function(x) inherits(x, "python.builtin.object")

is_time <- function(x) inherits(x, "POSIXct") && length(x) == 1 && !is.na(x)

is_single_number <- function(x) {
  (is.numeric(x) && length(x) == 1 && !is.na(x) && is.finite(x)) || is_time(x)
}

arg_fits <- function(x, kind) {
  switch(kind,
    string = is.character(x) && length(x) == 1 && !is.na(x),
    strings = is.character(x) && length(x) >= 1 && !anyNA(x),
    int = is_time(x) || (is_single_number(x) && x == round(x)),
    number = is_single_number(x),
    flag = is.logical(x) && length(x) == 1 && !is.na(x),
    flag_or_string = (is.logical(x) || is.character(x)) && length(x) == 1 && !is.na(x),
    string_or_raw = is.raw(x) || (is.character(x) && length(x) == 1 && !is.na(x)),
    mapping = is.list(x) && (length(x) == 0 || (!is.null(names(x)) && all(nzchar(names(x))))),
    TRUE
  )
}

describe_value <- function(x) {
  if (is.null(x)) {
    return("NULL")
  }
  if (is.function(x)) {
    return("a function")
  }
  if (is.list(x)) {
    return(if (is.null(names(x)) && length(x) > 0) "an unnamed list" else "a list")
  }
  if (length(x) == 0) {
    return(sprintf("an empty %s vector", typeof(x)))
  }
  if (length(x) > 1) {
    return(sprintf("a %s vector of length %d", typeof(x), length(x)))
  }
  if (is.na(x)) {
    return("NA")
  }
  switch(typeof(x),
    character = "a string",
    logical = if (isTRUE(x)) "TRUE" else "FALSE",
    double = if (is_time(x)) "a time" else "a number",
    integer = "a number",
    raw = "a raw vector",
    paste("a", typeof(x))
  )
}

check_arg <- function(x, kind, arg, null_ok = FALSE) {
  if (is.null(x) && null_ok) {
    return(invisible(TRUE))
  }
  if (!is.null(x) && (is_python_object(x) || arg_fits(x, kind))) {
    return(invisible(TRUE))
  }
  call <- sys.call(-1)
  what <- kind_descriptions[[kind]]
  if (null_ok) {
    what <- paste(what, "or NULL")
  }
  m2m_abort(
    sprintf("`%s` must be %s, not %s.", arg, what, describe_value(x)),
    condition_classes("invalid_argument", "config"),
    list(code = "invalid_argument", hint = NULL),
    call = call
  )
}

check_dots_named <- function(...) {
  call <- sys.call(-1)
  dots <- list(...)
  names <- names(dots) %||% rep("", length(dots))
  if (any(!nzchar(names))) {
    m2m_abort(
      "Credentials must be given by name.",
      condition_classes("invalid_argument", "config"),
      list(
        code = "invalid_argument",
        hint = "Name each one, e.g. service_key = \"key.json\", client_id = \"...\" (the same keywords as in Python)."
      ),
      call = call
    )
  }
  for (i in seq_along(dots)) {
    if (!credential_fits(dots[[i]])) {
      m2m_abort(
        sprintf("`%s` must be a single string (or a number, TRUE/FALSE, named list or raw vector), not %s.",
          names[[i]], describe_value(dots[[i]])),
        condition_classes("invalid_argument", "config"),
        list(
          code = "invalid_argument",
          hint = sprintf("Give %s a value, e.g. %s = Sys.getenv(\"...\") after checking it is set.", names[[i]], names[[i]])
        ),
        call = call
      )
    }
  }
  if (anyDuplicated(names)) {
    m2m_abort(
      sprintf("The credential `%s` is given twice.", names[anyDuplicated(names)]),
      condition_classes("invalid_argument", "config"),
      list(code = "invalid_argument", hint = NULL),
      call = call
    )
  }
  invisible(TRUE)
}

check_request <- function(req, call = NULL) {
  if (is.null(call)) {
    call <- sys.call(-1)
  }
  if (!inherits(req, "httr2_request")) {
    m2m_abort(
      sprintf("`req` must be an httr2 request, not %s.", describe_value(req)),
      condition_classes("invalid_argument", "config"),
      list(code = "invalid_argument", hint = "Make one with httr2::request(url)."),
      call = call
    )
  }
  invisible(TRUE)
}

# A credential or option given in `...`: one value Python can take (NULL means "not given").
credential_fits <- function(x) {
  if (is.null(x) || is_python_object(x) || is.raw(x) || inherits(x, "m2mauth_token")) {
    return(TRUE)
  }
  if (is.list(x)) {
    return(length(x) == 0 || (!is.null(names(x)) && all(nzchar(names(x)))))
  }
  if (is_time(x)) {
    return(TRUE)
  }
  (is.character(x) || is.numeric(x) || is.logical(x)) && length(x) == 1 && !is.na(x) &&
    (!is.numeric(x) || is.finite(x))
}
