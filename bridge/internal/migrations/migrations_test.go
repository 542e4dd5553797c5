package migrations

import (
	"reflect"
	"testing"
	"testing/fstest"
)

func TestRead(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"m/0010_ten.sql": {Data: []byte("ten")},
		"m/0002_two.sql": {Data: []byte("two")},
		"m/0001_one.sql": {Data: []byte("one")},
	}
	got, err := Read(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := []Migration{{1, "0001_one.sql", "one"}, {2, "0002_two.sql", "two"}, {10, "0010_ten.sql", "ten"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read = %+v, want %+v", got, want)
	}
}

func TestReadRefusesBadNames(t *testing.T) {
	t.Parallel()
	for name, fsys := range map[string]fstest.MapFS{
		"no version":     {"m/init.sql": {}},
		"zero version":   {"m/0000_init.sql": {}},
		"no underscore":  {"m/0001.sql": {}},
		"shared version": {"m/0001_a.sql": {}, "m/1_b.sql": {}},
		"missing dir":    {"other/0001_a.sql": {}},
	} {
		if got, err := Read(fsys, "m"); err == nil {
			t.Errorf("%s: Read = %+v, want an error", name, got)
		}
	}
}
