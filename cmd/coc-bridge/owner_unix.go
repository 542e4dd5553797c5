//go:build unix

package main

import (
	"io/fs"
	"syscall"
)

// fileOwner returns the owner's uid of st, or -1 when the system does not say.
func fileOwner(st fs.FileInfo) int {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid)
	}
	return -1
}
