#!/bin/sh
# Runs at boot from /opt/bootlocal.sh
echo "hello from the overlay"
