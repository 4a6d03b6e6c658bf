#!/bin/sh
# Start JupyterLab as a student sees it: Validate only (offline, the default) or Validate plus the
# Assignments tab (exchange: an nbgrader exchange is configured, e.g. on the course's JupyterHub).
#   deploy/student/lab.sh [offline|exchange] [jupyter lab options...]
# JUPYTER_PREFER_ENV_PATH=0 makes this folder outrank the virtual environment's own config, where
# installing nbgrader enabled every instructor extension.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
profile=offline
case "${1:-}" in
  offline|exchange) profile=$1; shift ;;
esac
export JUPYTER_CONFIG_DIR="$here/$profile"
export JUPYTER_PREFER_ENV_PATH=0
exec jupyter lab "$@"
