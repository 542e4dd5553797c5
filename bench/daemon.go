package bench

import (
	"bufio"
	"encoding/json"
	"os"
)

// ListenAddress returns the address a coc-bridge daemon started with
// COC_BRIDGE_LOG_FORMAT=json logged in its "listening" line to the file at
// logPath, or "" while there is none. The benchmarks and the end-to-end tests
// start the built binary on port 0 and find it this way.
func ListenAddress(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg     string `json:"msg"`
			Address string `json:"address"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.Address != "" {
			return line.Address
		}
	}
	return ""
}
