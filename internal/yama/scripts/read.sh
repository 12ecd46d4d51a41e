#!/bin/sh
# read.sh: reports the live value, the managed drop-in and every sysctl.d
# file (see the protocol in lib.sh). It needs no privilege. Embedded by
# scripts.go (package yama) as readScript, with lib.sh spliced in where it
# is sourced below.

. ./lib.sh
snapshot
