#' m2mauth: OAuth2 machine-to-machine access tokens from R
#'
#' The R face of the m2mauth Python core. \code{\link{m2m_token}()} fetches a
#' token for a provider profile (\code{"clms"}, \code{"openaire"},
#' \code{"climate-engine"}, ...), \code{\link{req_auth_m2m}()} adds a cached,
#' renewed token to httr2 requests, \code{\link{m2m_inspect}()} and
#' \code{\link{m2m_explain}()} say in plain words what is wrong with a grant or a
#' failed exchange.
#'
#' The wrappers \code{m2m_*()} are generated from the core's public API by
#' \code{python/tools/gen_r_bindings.py}; the R code written by hand is only what
#' R needs: finding Python (\code{\link{install_m2mauth}()}), httr2 integration,
#' classed conditions (\link{m2mauth_error}) and print methods.
#'
#' @section Finding Python:
#' \code{library(m2mauth)} never starts Python: the core is imported at first
#' use. The Python used is, in order: the one named by the environment variable
#' \code{M2MAUTH_PYTHON} (forwarded to \code{RETICULATE_PYTHON}), the virtualenv
#' \code{"r-m2mauth"} made by \code{\link{install_m2mauth}()}, or reticulate's
#' default. A missing Python, a Python without the core, or a core whose version
#' differs from this package's gives one error of class
#' \code{m2mauth_python_error} saying what to run.
#'
#' @keywords internal
"_PACKAGE"

# Package state: the Python side once found, token handles of req_auth_m2m(), the call helper.
the <- new.env(parent = emptyenv())
the$handles <- list()

# The Python core, imported lazily (keras3/tensorflow idiom): a module proxy until first use.
py_m2mauth <- NULL

.onLoad <- function(libname, pkgname) {
  forward_python_choice()
  py_m2mauth <<- reticulate::import(
    "m2mauth",
    delay_load = list(
      priority = 10,
      environment = default_envname(),
      before_load = function() choose_python(),
      on_error = function(e) the$load_error <- e
    )
  )
  invisible()
}
