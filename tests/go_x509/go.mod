module kescheck.test/x509verify

go 1.19
