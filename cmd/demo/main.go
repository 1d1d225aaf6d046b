// Command demo is the tour `make demo` runs. It is built by the examples-and-demo issue.
package main

import "fmt"

func main() {
	fmt.Println("hydrakit demo: not yet (see the examples-and-demo issue)")
}
