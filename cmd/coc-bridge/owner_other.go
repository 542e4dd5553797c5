//go:build !unix

package main

import "io/fs"

// fileOwner returns -1: this system has no Unix file owners.
func fileOwner(fs.FileInfo) int { return -1 }
