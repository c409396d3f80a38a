# Every spec vector replayed without Python: R's openssl verifies and re-signs, jsonlite re-encodes
# the JSON, and R re-encodes the form bodies and Basic headers by spec/CONVENTIONS.md.

openssl_ready <- requireNamespace("openssl", quietly = TRUE) && requireNamespace("jsonlite", quietly = TRUE)
spec <- if (openssl_ready) spec_dir() else NULL

if (is.null(spec)) {
  test_that("the spec vectors replay with openssl alone", {
    skip_if_not_installed("openssl")
    skip_if_not_installed("jsonlite")
    skip_if_no_spec()
  })
} else {
  for (path in vector_files(spec)) {
    local({
      doc <- read_vectors(path)
      test_that(sprintf("openssl replay: %s", basename(path)), {
        expect_equal(doc$numberOfTests, sum(vapply(doc$testGroups, function(g) length(g$tests), integer(1))))
        for (group in doc$testGroups) {
          for (test in group$tests) {
            checks <- replay_openssl(test, group, spec)
            expect_gt(length(checks), 0)
            for (chk in checks) {
              if (!is.na(chk$ok)) {
                expect_true(chk$ok, label = sprintf("tcId %s: %s", test$tcId, chk$name))
              }
            }
          }
        }
      })
    })
  }

  test_that("only PS*/ES* signature bytes are left unchecked", {
    rows <- replay_all_openssl(spec)
    unchecked <- rows[is.na(rows$ok), ]
    expect_true(all(grepl("^(PS|ES)[0-9]+ signature", unchecked$check)))
    expect_true(all(rows$ok[!is.na(rows$ok)]))
    reproducible <- rows[grepl("^(RS|HS)[0-9]+ (re-signed|HMAC)", rows$check), ]
    expect_gte(nrow(reproducible), 20)
  })
}
