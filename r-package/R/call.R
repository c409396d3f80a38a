# The one boundary between R and the Python core. Every generated wrapper ends in m2m_call():
# arguments are converted the R way (whole numbers to int where Python wants int, named lists to
# dicts, raw vectors to bytes, httr2 responses and caught m2mauth errors to what explain() reads),
# the call runs inside a small Python trampoline that catches the core's exceptions, and results
# come back as R objects (tokens, diagnoses, explanations) or Python references.

# Runs fn(**kwargs) and describes an exception instead of raising it, so R sees code, hint and
# status the same way on every reticulate version (1.28 has no Python exception conditions).
trampoline_code <- "
def call(fn, kwargs):
    try:
        return {'ok': True, 'value': fn(**kwargs)}
    except Exception as exc:
        return describe(exc)

def describe(exc):
    from m2mauth.errors import ConfigError, M2MAuthError, TokenEndpointError, TransportError
    if isinstance(exc, M2MAuthError):
        if isinstance(exc, ConfigError):
            family = 'config'
        elif isinstance(exc, TokenEndpointError):
            family = 'token_endpoint'
        elif isinstance(exc, TransportError):
            family = 'transport'
        else:
            family = None
        out = {'ok': False, 'family': family, 'code': exc.code, 'message': exc.message,
               'hint': exc.hint, 'python_class': type(exc).__name__, 'exception': exc}
        for name in ('status', 'error', 'error_description', 'retry_after', 'provider_code'):
            value = getattr(exc, name, None)
            if value is not None:
                out[name] = value
        return out
    from m2mauth.tokens import redact_text
    text = redact_text(str(exc))[:300]
    return {'ok': False, 'family': 'internal', 'code': 'python_exception',
            'message': 'the Python core raised ' + type(exc).__name__ + (': ' + text if text else ''),
            'hint': 'Check the arguments; if they are right, this is a bug in m2mauth: please report it.',
            'python_class': type(exc).__name__, 'exception': exc}

def response(status, content, headers):
    from types import SimpleNamespace
    return SimpleNamespace(status_code=int(status), content=bytes(content), headers=dict(headers))
"

# A private module "m2mauth_r" holding the functions above (nothing is added to __main__).
trampoline <- function() {
  if (is.null(the$trampoline)) {
    core()
    module <- reticulate::import("types")$ModuleType("m2mauth_r")
    reticulate::import_builtins()$exec(trampoline_code, reticulate::py_get_attr(module, "__dict__"))
    the$trampoline <- module
  }
  the$trampoline
}

# Call the core's public function `name` with R arguments; `kinds` names the Python type of the
# arguments that need converting ("int", "number", "mapping", ...).
m2m_call <- function(name, args, kinds = character()) {
  call <- sys.call(-1) # the wrapper's call (only its name is ever shown)
  if (identical(name, "fetch_token") && !is.null(args$store)) {
    return(token_from_store(args, kinds, call))
  }
  mod <- core() # first: reticulate would otherwise start its own choice of Python
  fn <- reticulate::py_get_attr(mod, name)
  py_invoke(fn, args, kinds, call = call)
}

py_invoke <- function(fn, args, kinds = character(), call = NULL) {
  args <- args[!vapply(args, is.null, logical(1))]
  keys <- names(args) %||% character()
  values <- lapply(seq_along(args), function(i) {
    kind <- if (keys[[i]] %in% names(kinds)) kinds[[keys[[i]]]] else "any"
    to_py(args[[i]], kind)
  })
  kwargs <- reticulate::py_dict(as.list(keys), values, convert = FALSE)
  result <- trampoline()$call(fn, kwargs)
  if (!isTRUE(result$ok)) {
    stop(core_condition(result, call))
  }
  from_py(result$value)
}

# -- R -> Python --------------------------------------------------------------------------------

to_py <- function(x, kind = "any") {
  if (is.null(x) || is_python_object(x)) {
    return(x)
  }
  if (inherits(x, "m2mauth_error")) {
    return(error_to_py(x))
  }
  if (inherits(x, "httr2_response") || inherits(x, "httr2_http")) {
    return(response_to_py(x))
  }
  if (inherits(x, "m2mauth_token")) {
    return(x$access_token)
  }
  if (kind == "int") {
    return(as_py_int(x))
  }
  if (kind == "number" && inherits(x, "POSIXct")) {
    return(as.numeric(x))
  }
  if (kind == "mapping") {
    return(as_py_mapping(x))
  }
  if (is.raw(x)) {
    return(reticulate::import_builtins()$bytes(x))
  }
  if (is.list(x) && !is.null(names(x))) {
    return(lapply(x, to_py))
  }
  x
}

# Python wants int (JSON integers in claims, lifetimes, epoch times): R numbers are doubles.
as_py_int <- function(x) {
  if (inherits(x, "POSIXct")) {
    x <- floor(as.numeric(x))
  }
  if (is.numeric(x) && length(x) == 1 && !is.na(x) && x == round(x)) {
    if (abs(x) <= .Machine$integer.max) {
      return(as.integer(x))
    }
    return(reticulate::import_builtins()$int(format(x, scientific = FALSE)))
  }
  x
}

# A named list -> dict, recursively; whole numbers and times become ints, as jsonlite writes them.
as_py_mapping <- function(x) {
  if (is.list(x) && length(x) == 0) {
    return(reticulate::dict())
  }
  json_value(x)
}

json_value <- function(x) {
  if (is.null(x) || is_python_object(x)) {
    return(x)
  }
  if (is.list(x)) {
    if (!is.null(names(x))) {
      out <- lapply(x, json_value)
      return(reticulate::py_dict(as.list(names(out)), unname(out), convert = FALSE))
    }
    return(lapply(x, json_value))
  }
  if (inherits(x, "POSIXct")) {
    x <- floor(as.numeric(x))
  }
  if (is.double(x) && length(x) >= 1 && all(is.finite(x)) && all(x == round(x)) &&
    all(abs(x) <= .Machine$integer.max)) {
    x <- as.integer(x)
  }
  if (is.raw(x)) {
    return(reticulate::import_builtins()$bytes(x))
  }
  if (length(x) == 1) x else as.list(x)
}

# explain() reads a response's status_code, content and headers: an httr2 response (or the httr2
# HTTP error condition that carries one) becomes an object with just those.
response_to_py <- function(x) {
  resp <- if (inherits(x, "httr2_response")) x else x$resp %||% x$response
  if (!inherits(resp, "httr2_response")) {
    return(conditionMessage(x))
  }
  headers <- list()
  type <- httr2::resp_header(resp, "content-type")
  if (!is.null(type)) {
    headers[["Content-Type"]] <- type
  }
  body <- tryCatch(httr2::resp_body_raw(resp), error = function(e) raw())
  trampoline()$response(httr2::resp_status(resp), reticulate::import_builtins()$bytes(body), headers)
}

# A caught m2mauth condition -> the core's exception (when it came from the core), else its fields.
error_to_py <- function(cnd) {
  if (!is.null(cnd$python_exception)) {
    return(cnd$python_exception)
  }
  fields <- list(error = cnd$error %||% cnd$code, error_description = cnd$error_description)
  json_value(fields[!vapply(fields, is.null, logical(1))])
}

# -- Python -> R --------------------------------------------------------------------------------

py_class_is <- function(x, name) any(grepl(paste0("^m2mauth\\..*\\.", name, "$"), class(x)))

from_py <- function(x) {
  if (!is_python_object(x)) {
    return(x)
  }
  if (inherits(x, "python.builtin.bytes")) {
    return(reticulate::import_builtins()$bytearray(x)) # reticulate < 1.29 leaves bytes unconverted
  }
  if (py_class_is(x, "Token")) {
    return(token_from_py(x))
  }
  if (py_class_is(x, "Diagnosis")) {
    return(diagnosis_from_py(x))
  }
  if (py_class_is(x, "Explanation")) {
    return(explanation_from_py(x))
  }
  x
}

r_value <- function(x) if (is_python_object(x)) reticulate::py_to_r(x) else x

# Attributes and methods of a Python object, read the same way whatever its convert flag.
py_attr <- function(x, name) r_value(reticulate::py_get_attr(x, name))
py_method <- function(x, name, ...) r_value(reticulate::py_call(reticulate::py_get_attr(x, name), ...))

token_from_py <- function(x) {
  time <- function(name) {
    value <- py_attr(x, name)
    if (is.null(value)) NULL else as.POSIXct(value, tz = "UTC")
  }
  new_token(
    access_token = py_attr(x, "access_token"),
    token_type = py_attr(x, "token_type"),
    expires_at = time("expires_at"),
    refresh_token = py_attr(x, "refresh_token"),
    scope = py_attr(x, "scope"),
    issued_at = time("issued_at"),
    header_name = if (reticulate::py_has_attr(x, "header_name")) py_attr(x, "header_name") else "Authorization",
    issued_token_type = py_attr(x, "issued_token_type")
  )
}

diagnosis_from_py <- function(x) {
  data <- py_method(x, "to_dict")
  json <- reticulate::import("json", convert = TRUE)
  dumps <- function(value) json$dumps(value, ensure_ascii = FALSE, separators = c(",", ":"))
  findings <- data$findings
  new_diagnosis(
    header = data$header,
    claims = data$claims,
    findings = data.frame(
      code = vapply(findings, function(f) f$code, character(1)),
      severity = vapply(findings, function(f) f$severity, character(1)),
      message = vapply(findings, function(f) f$message, character(1)),
      hint = vapply(findings, function(f) f$hint %||% NA_character_, character(1)),
      stringsAsFactors = FALSE
    ),
    header_json = dumps(reticulate::py_get_attr(x, "header")),
    claims_json = dumps(reticulate::py_get_attr(x, "claims"))
  )
}

explanation_from_py <- function(x) {
  data <- py_method(x, "to_dict")
  do.call(new_explanation, data[c("code", "message", "hint", "status", "error", "error_description")])
}
