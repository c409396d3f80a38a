# Finding the Python core: M2MAUTH_PYTHON, then the "r-m2mauth" virtualenv, then reticulate's default.
# Python is started at first use only; every way it can fail ends in one m2mauth_python_error.

default_envname <- function() "r-m2mauth"

pkg_version <- function() as.character(utils::packageVersion("m2mauth"))

python_started <- function() reticulate::py_available(initialize = FALSE)

# M2MAUTH_PYTHON wins over RETICULATE_PYTHON: it names the Python meant for m2mauth. Only
# effective before Python starts (reticulate cannot switch interpreters within a session).
forward_python_choice <- function() {
  python <- Sys.getenv("M2MAUTH_PYTHON")
  if (nzchar(python) && !python_started()) {
    Sys.setenv(RETICULATE_PYTHON = python)
  }
  invisible(python)
}

choose_python <- function() {
  if (python_started()) {
    return(invisible())
  }
  python <- Sys.getenv("M2MAUTH_PYTHON")
  if (nzchar(python)) {
    path <- if (grepl("/|\\\\", python)) path.expand(python) else unname(Sys.which(python))
    if (!nzchar(path) || !file.exists(path)) {
      abort_python(
        sprintf("M2MAUTH_PYTHON is set to '%s', but there is no such Python.", python),
        fix = c(
          "Point it at the python of an environment that has the core, e.g.",
          "  Sys.setenv(M2MAUTH_PYTHON = \"/path/to/venv/bin/python\")",
          "or unset it and run:",
          "  m2mauth::install_m2mauth()"
        ),
        reason = "python_not_found",
        python = python
      )
    }
    Sys.setenv(RETICULATE_PYTHON = path)
    return(invisible())
  }
  if (!nzchar(Sys.getenv("RETICULATE_PYTHON")) && reticulate::virtualenv_exists(default_envname())) {
    reticulate::use_virtualenv(default_envname(), required = TRUE)
    return(invisible())
  }
  if (reticulate_makes_its_own_python() && !python_configured()) {
    abort_python(
      "No Python is set up for m2mauth: M2MAUTH_PYTHON is not set and there is no virtualenv 'r-m2mauth'.",
      fix = c(
        "Run in R:",
        "  m2mauth::install_m2mauth()",
        "or set M2MAUTH_PYTHON to the python of an environment that has m2mauth."
      ),
      reason = "python_not_found"
    )
  }
  invisible()
}

# reticulate >= 1.41, when nothing names a Python, downloads uv and builds a temporary environment
# (without m2mauth; offline it fails with "Downloading uv... cannot open URL"). Older versions
# take a Python from PATH and the like, which may have the core.
reticulate_makes_its_own_python <- function() {
  utils::packageVersion("reticulate") >= "1.41" &&
    !tolower(Sys.getenv("RETICULATE_USE_MANAGED_VENV")) %in% c("true", "1", "yes") &&
    !identical(Sys.getenv("RETICULATE_PYTHON"), "managed")
}

# Whether the user named a Python in one of the ways reticulate honours before its own fallback.
python_configured <- function() {
  named <- c("RETICULATE_PYTHON", "RETICULATE_PYTHON_ENV", "RETICULATE_PYTHON_FALLBACK", "VIRTUAL_ENV")
  if (any(nzchar(Sys.getenv(named)))) {
    return(TRUE)
  }
  # use_python() / use_virtualenv() calls made before m2mauth started Python (reticulate internals,
  # read defensively: their absence only means "not configured").
  globals <- tryCatch(get(".globals", envir = asNamespace("reticulate")), error = function(e) NULL)
  if (length(globals$required_python_version) > 0 || length(globals$use_python_versions) > 0) {
    return(TRUE)
  }
  venvs <- c("venv", ".venv", "virtualenv", ".virtualenv")
  any(file.exists(file.path(venvs, "pyvenv.cfg"))) ||
    isTRUE(tryCatch(reticulate::virtualenv_exists("r-reticulate"), error = function(e) FALSE))
}

current_python <- function() {
  if (python_started()) {
    found <- tryCatch(reticulate::py_config()$python, error = function(e) NULL)
    if (!is.null(found)) {
      return(found)
    }
  }
  for (name in c("M2MAUTH_PYTHON", "RETICULATE_PYTHON")) {
    if (nzchar(Sys.getenv(name))) {
      return(Sys.getenv(name))
    }
  }
  "python"
}

# The Python module, imported and version-checked; the cause of failure is remembered, since a
# started Python cannot be replaced in this session.
core <- function() {
  if (isTRUE(the$ready)) {
    return(py_m2mauth)
  }
  if (!is.null(the$failure) && python_started()) {
    stop(the$failure)
  }
  cnd <- tryCatch(
    {
      choose_python()
      load_core()
      NULL
    },
    m2mauth_python_error = function(cnd) cnd
  )
  if (!is.null(cnd)) {
    the$failure <- cnd
    stop(cnd)
  }
  the$ready <- TRUE
  the$failure <- NULL
  py_m2mauth
}

load_core <- function() {
  the$load_error <- NULL
  version <- tryCatch(py_m2mauth$`__version__`, error = function(e) e)
  if (inherits(version, "error")) {
    cause <- the$load_error %||% version
    python <- current_python()
    detail <- first_line(conditionMessage(cause))
    if (!python_started()) {
      abort_python(
        sprintf("Python could not be started (%s).", detail),
        fix = install_fix(python),
        reason = "python_not_started",
        python = python
      )
    }
    what <- sprintf("Python %s cannot import m2mauth (%s).", python, detail)
    abort_python(what, fix = install_fix(python), reason = "core_not_installed", python = python)
  }
  wanted <- pkg_version()
  if (!identical(as.character(version), wanted)) {
    python <- current_python()
    abort_python(
      sprintf(
        "the Python core at %s is m2mauth %s, but this R package is %s: they must be the same version.",
        python, version, wanted
      ),
      fix = install_fix(python),
      reason = "version_mismatch",
      python = python
    )
  }
  invisible(version)
}

install_fix <- function(python) {
  in_venv <- tryCatch(
    reticulate::virtualenv_exists(default_envname()) &&
      identical(
        normalizePath(python, mustWork = FALSE),
        normalizePath(reticulate::virtualenv_python(default_envname()), mustWork = FALSE)
      ),
    error = function(e) FALSE
  )
  explicit <- nzchar(Sys.getenv("M2MAUTH_PYTHON")) && !in_venv
  fix <- if (explicit) {
    c(
      "Install the core into that Python:",
      sprintf("  %s -m pip install %s", shQuote(python), shQuote(core_requirement())),
      "or unset M2MAUTH_PYTHON and run",
      "  m2mauth::install_m2mauth()"
    )
  } else {
    c(
      "Run in R:",
      "  m2mauth::install_m2mauth()",
      "or set M2MAUTH_PYTHON to the python of an environment that has m2mauth."
    )
  }
  if (python_started()) {
    fix <- c(fix, "Then restart R: Python cannot be switched once started.")
  }
  fix
}

# The core shipped inside this package (inst/python/, written by python/tools/build_r_package.py
# when the package is built), or NULL in a package built without it.
bundled_core <- function() {
  folder <- system.file("python", package = "m2mauth")
  wheels <- if (nzchar(folder)) Sys.glob(file.path(folder, paste0("m2mauth-", pkg_version(), "-*.whl"))) else character()
  if (length(wheels) == 0) NULL else wheels[[1]]
}

# What pip installs to get the core of this package's version: the bundled wheel, else PyPI's.
core_requirement <- function() bundled_core() %||% paste0("m2mauth==", pkg_version())

first_line <- function(text) {
  lines <- strsplit(text, "\n", fixed = TRUE)[[1]]
  lines <- trimws(lines[nzchar(trimws(lines))])
  if (length(lines) == 0) "no details" else lines[[1]]
}

abort_python <- function(message, fix, reason, python = NULL) {
  cnd <- new_condition(
    message = message,
    class = c("m2mauth_python_error", "m2mauth_error"),
    fields = list(code = reason, hint = paste(fix, collapse = "\n"), python = python),
    call = NULL,
    bullets = fix
  )
  stop(cnd)
}

#' Install the Python core into a virtualenv
#'
#' Creates the virtualenv \code{envname} (if needed) and installs the m2mauth
#' Python core into it with pip: by default the copy shipped inside this R
#' package (same version, no release on PyPI needed; pip fetches only its
#' dependencies, pyjwt, cryptography and requests). \code{library(m2mauth)} uses
#' the virtualenv \code{"r-m2mauth"} when \code{M2MAUTH_PYTHON} is not set.
#' Restart R afterwards if Python was already running.
#'
#' @param envname Name (or path) of the virtualenv.
#' @param package What pip installs instead of the bundled core: a path to a
#'   source checkout or wheel, or a pip requirement.
#' @param version A version of the core to install from PyPI (e.g.
#'   \code{"0.1.0"}); by default the bundled copy (PyPI only when this package
#'   was built without one).
#' @param python The Python used to create the virtualenv (default: found by
#'   reticulate).
#' @param force Whether to delete and re-create an existing virtualenv.
#' @return The path of the virtualenv's python, invisibly.
#' @examples
#' \dontrun{
#' install_m2mauth()
#' install_m2mauth(package = "~/src/m2mauth")  # a source checkout
#' }
#' @export
install_m2mauth <- function(envname = "r-m2mauth", package = NULL, version = NULL, python = NULL,
                            force = FALSE) {
  check_arg(envname, "string", "envname")
  check_arg(package, "string", "package", null_ok = TRUE)
  check_arg(version, "string", "version", null_ok = TRUE)
  check_arg(python, "string", "python", null_ok = TRUE)
  check_arg(force, "flag", "force")
  if (!is.null(package) && !is.null(version)) {
    m2m_abort(
      "Give `package` or `version`, not both.",
      condition_classes("invalid_argument", "config"),
      list(code = "invalid_argument", hint = "install_m2mauth(version = \"0.1.0\") installs that version from PyPI.")
    )
  }
  bundled <- bundled_core()
  package <- package %||%
    if (!is.null(version)) paste0("m2mauth==", version) else bundled %||% paste0("m2mauth==", pkg_version())
  on.exit(local_python_library_path()(), add = TRUE)
  if (file.exists(path.expand(package))) {
    package <- normalizePath(path.expand(package))
  }
  if (force && reticulate::virtualenv_exists(envname)) {
    reticulate::virtualenv_remove(envname, confirm = FALSE)
  }
  if (!reticulate::virtualenv_exists(envname)) {
    reticulate::virtualenv_create(envname, python = python, packages = NULL)
  }
  venv_python <- reticulate::virtualenv_python(envname)
  if (identical(package, bundled)) {
    # The same version may be installed from another build: replace the core itself, then let
    # pip fetch what it needs (already-installed dependencies are kept).
    pip_install(venv_python, c("--force-reinstall", "--no-deps", package))
  }
  pip_install(venv_python, c("--upgrade", package))
  message(
    sprintf("Installed %s into the virtualenv '%s' (%s).\n", basename(package), envname, venv_python),
    if (python_started()) "Restart R to use it: Python is already running in this session.\n",
    if (!identical(envname, default_envname())) {
      sprintf("Set M2MAUTH_PYTHON=%s so library(m2mauth) uses it.\n", venv_python)
    }
  )
  invisible(venv_python)
}

pip_install <- function(python, args) {
  status <- system2(python, c("-m", "pip", "install", "--disable-pip-version-check", shQuote(args)))
  if (!identical(as.integer(status), 0L)) {
    abort_python(
      sprintf("pip could not install %s into %s (exit status %s).", basename(args[[length(args)]]), python, status),
      fix = c("Read pip's output above; pip needs PyPI (or your index) for pyjwt, cryptography and requests."),
      reason = "install_failed",
      python = python
    )
  }
  invisible()
}
