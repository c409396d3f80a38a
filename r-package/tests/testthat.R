# R CMD check runs this file; the project's runner is tests/run-tests.R (it counts and reports).
library(testthat)
library(m2mauth)

test_check("m2mauth")
