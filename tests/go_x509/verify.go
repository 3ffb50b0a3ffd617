// Verifies each case directory (leaf.pem, inter.pem, roots.pem, usage) with Go's crypto/x509, one line per case:
// the directory name, a tab, and Go's error or <nil>. Built and run by tests/test_chain_constraints.py where Go is installed.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func load(path string) []*x509.Certificate {
	data, _ := os.ReadFile(path)
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			fmt.Fprintln(os.Stderr, path, err)
			continue
		}
		out = append(out, c)
	}
}

func main() {
	dirs, _ := filepath.Glob(os.Args[1] + "/*")
	for _, d := range dirs {
		leaves := load(d + "/leaf.pem")
		if len(leaves) == 0 {
			fmt.Printf("%s\tno leaf certificate Go can parse\n", filepath.Base(d))
			continue
		}
		leaf := leaves[0]
		inter := x509.NewCertPool()
		for _, c := range load(d + "/inter.pem") {
			inter.AddCert(c)
		}
		roots := x509.NewCertPool()
		for _, c := range load(d + "/roots.pem") {
			roots.AddCert(c)
		}
		u, _ := os.ReadFile(d + "/usage")
		usage := x509.ExtKeyUsageServerAuth
		if strings.TrimSpace(string(u)) == "clientAuth" {
			usage = x509.ExtKeyUsageClientAuth
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}})
		fmt.Printf("%s\t%v\n", filepath.Base(d), err)
	}
}
