#' Run the core's local test token server
#'
#' Starts \code{python -m m2mauth.testing} as a separate process on 127.0.0.1: a
#' token server that emulates the providers m2mauth knows (same paths, same
#' error texts) plus a protected resource, for offline tests and demos. It writes
#' a freshly generated CLMS test service key and test credentials for the other
#' profiles to private temporary files (removed when it stops); nothing secret is
#' printed. Stop it with \code{m2m_local_provider_stop()}; it is also stopped when
#' the R session ends or the object is garbage collected. Unix only.
#'
#' @param lifetime Lifetime of the access tokens it issues, in seconds.
#' @param python The Python that has m2mauth installed (default:
#'   \code{M2MAUTH_PYTHON}, else the Python reticulate uses).
#' @param timeout Seconds to wait for the server to start (or to stop).
#' @param usgs_key_lifetime How long the USGS M2M emulation keeps an API key
#'   valid, in seconds (default \code{NULL}: 2 hours, as USGS). Shorter than the
#'   profile's 2 hours, the emulated API answers \code{AUTH_EXPIRED} to a key the
#'   client still holds fresh: the case \code{\link{req_auth_m2m}()} renews.
#' @return An \code{m2mauth_local_provider}: a list with \code{base_url},
#'   \code{resource_url}, \code{service_key_file}, \code{credentials_file},
#'   \code{token_urls} (one per profile) and \code{pid}.
#' @examples
#' \dontrun{
#' provider <- m2m_local_provider(lifetime = 60)
#' token <- m2m_token("clms", service_key = provider$service_key_file)
#' m2m_local_provider_stop(provider)
#' }
#' @export
m2m_local_provider <- function(lifetime = 3600, python = NULL, timeout = 30, usgs_key_lifetime = NULL) {
  check_arg(lifetime, "int", "lifetime")
  check_arg(usgs_key_lifetime, "int", "usgs_key_lifetime", null_ok = TRUE)
  if (!is.null(usgs_key_lifetime) && usgs_key_lifetime < 1) {
    m2m_abort(
      sprintf("`usgs_key_lifetime` must be at least 1 second, not %s.", format(usgs_key_lifetime)),
      condition_classes("invalid_argument", "config"),
      list(code = "invalid_argument", hint = "Pass a whole number of seconds, e.g. usgs_key_lifetime = 2.")
    )
  }
  check_arg(python, "string", "python", null_ok = TRUE)
  check_arg(timeout, "number", "timeout")
  if (!requireNamespace("jsonlite", quietly = TRUE)) {
    m2m_abort(
      "m2m_local_provider() needs the jsonlite package.",
      condition_classes("missing_package", "config"),
      list(code = "missing_package", hint = "Run install.packages(\"jsonlite\").")
    )
  }
  python <- python %||% provider_python()
  out <- tempfile("m2mauth-provider-", fileext = ".json")
  err <- tempfile("m2mauth-provider-", fileext = ".log")
  command <- sprintf(
    "LD_LIBRARY_PATH=%s exec %s -m m2mauth.testing --lifetime %d%s >%s 2>%s </dev/null & echo $!",
    shQuote(python_library_path()), shQuote(python), as.integer(lifetime),
    if (is.null(usgs_key_lifetime)) "" else sprintf(" --usgs-key-lifetime %d", as.integer(usgs_key_lifetime)),
    shQuote(out), shQuote(err)
  )
  pid <- suppressWarnings(as.integer(system2("sh", c("-c", shQuote(command)), stdout = TRUE)))
  if (length(pid) != 1 || is.na(pid)) {
    provider_failed("the process could not be started", python, err)
  }
  deadline <- Sys.time() + timeout
  line <- character()
  while (Sys.time() < deadline) {
    line <- if (file.exists(out)) readLines(out, n = 1, warn = FALSE) else character()
    if (length(line) == 1 && nzchar(line)) {
      break
    }
    if (!process_alive(pid)) {
      provider_failed("the process exited", python, err)
    }
    Sys.sleep(0.1)
  }
  if (length(line) != 1 || !nzchar(line)) {
    tools::pskill(pid, tools::SIGKILL)
    provider_failed(sprintf("no answer within %s s", format(timeout)), python, err)
  }
  info <- jsonlite::fromJSON(line, simplifyVector = FALSE)
  # The server is stopped when the R session ends or when the last copy of this object is
  # collected, so a script that forgets m2m_local_provider_stop() leaves no process behind.
  guard <- new.env(parent = emptyenv())
  guard$pid <- pid
  guard$stopped <- FALSE
  reg.finalizer(guard, function(guard) stop_guarded(guard, timeout = 5), onexit = TRUE)
  structure(
    c(info, list(pid = pid, python = python, log = err, guard = guard)),
    class = "m2mauth_local_provider"
  )
}

stop_guarded <- function(guard, timeout) {
  if (isTRUE(guard$stopped)) {
    return(TRUE) # already stopped: its pid may belong to another process by now
  }
  guard$stopped <- TRUE
  stop_process(guard$pid, timeout)
}

stop_process <- function(pid, timeout) {
  if (process_alive(pid)) {
    tools::pskill(pid, tools::SIGTERM)
    deadline <- Sys.time() + timeout
    while (process_alive(pid) && Sys.time() < deadline) {
      Sys.sleep(0.1)
    }
    if (process_alive(pid)) {
      tools::pskill(pid, tools::SIGKILL)
    }
  }
  !process_alive(pid)
}

#' @rdname m2m_local_provider
#' @param provider An \code{m2mauth_local_provider}.
#' @export
m2m_local_provider_stop <- function(provider, timeout = 10) {
  if (!inherits(provider, "m2mauth_local_provider")) {
    m2m_abort(
      sprintf("`provider` must be an m2mauth_local_provider, not %s.", describe_value(provider)),
      condition_classes("invalid_argument", "config"),
      list(code = "invalid_argument", hint = "Pass what m2m_local_provider() returned.")
    )
  }
  if (is.environment(provider$guard)) {
    return(invisible(stop_guarded(provider$guard, timeout)))
  }
  invisible(stop_process(provider$pid, timeout))
}

#' @export
print.m2mauth_local_provider <- function(x, ...) {
  running <- if (process_alive(x$pid)) "running" else "stopped"
  cat(
    sprintf("<m2mauth_local_provider> %s, pid %d (%s)", x$base_url, x$pid, running),
    sprintf("  resource:    %s", x$resource_url),
    sprintf("  service key: %s", x$service_key_file),
    sep = "\n"
  )
  invisible(x)
}

# R puts its own and the system library folders first in LD_LIBRARY_PATH; a Python started from R
# then loads the system libpython instead of its own (seen with pyenv: "undefined symbol" on
# import ssl). Children that run Python get the path without them.
python_library_path <- function() {
  entries <- strsplit(Sys.getenv("LD_LIBRARY_PATH"), ":", fixed = TRUE)[[1]]
  system <- c(
    R.home("lib"), "/lib", "/usr/lib", "/lib64", "/usr/lib64",
    Sys.glob("/usr/lib/*-linux-gnu"), Sys.glob("/lib/*-linux-gnu")
  )
  keep <- entries[nzchar(entries) & !(sub("/+$", "", entries) %in% system)]
  paste(keep, collapse = ":")
}

local_python_library_path <- function() {
  old <- Sys.getenv("LD_LIBRARY_PATH", unset = NA)
  Sys.setenv(LD_LIBRARY_PATH = python_library_path())
  function() if (is.na(old)) Sys.unsetenv("LD_LIBRARY_PATH") else Sys.setenv(LD_LIBRARY_PATH = old)
}

process_alive <- function(pid) {
  isTRUE(suppressWarnings(tools::pskill(pid, 0L)))
}

provider_python <- function() {
  if (python_started()) {
    return(current_python())
  }
  for (name in c("M2MAUTH_PYTHON", "RETICULATE_PYTHON")) {
    if (nzchar(Sys.getenv(name))) {
      return(path.expand(Sys.getenv(name)))
    }
  }
  if (reticulate::virtualenv_exists(default_envname())) {
    return(reticulate::virtualenv_python(default_envname()))
  }
  m2m_abort(
    "No Python with m2mauth to run the local provider.",
    "m2mauth_python_error",
    list(code = "python_not_found", hint = "Set M2MAUTH_PYTHON, or run m2mauth::install_m2mauth().")
  )
}

provider_failed <- function(what, python, log) {
  detail <- if (file.exists(log)) utils::tail(readLines(log, warn = FALSE), 5) else character()
  m2m_abort(
    sprintf("The local provider did not start: %s.", what),
    c("m2mauth_error_provider_failed", "m2mauth_error"),
    list(
      code = "provider_failed",
      hint = paste(c(sprintf("Check that %s -m m2mauth.testing runs.", python), detail), collapse = "\n")
    )
  )
}
