#!/bin/sh
# Start JupyterLab as a student sees it: Validate only (offline, the default) or Validate plus the
# Assignments tab (exchange: an nbgrader exchange is configured, e.g. on the course's JupyterHub).
#   deploy/student/lab.sh [offline|exchange] [jupyter lab options...]
# The profile is copied to ~/.config/chemdl-student/<profile> (JupyterLab keeps its user settings and
# workspaces in the config dir, which should not be this repository). JUPYTER_PREFER_ENV_PATH=0
# makes that folder outrank the virtual environment's own config, where installing nbgrader enabled
# every instructor extension.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
profile=offline
case "${1:-}" in
  offline|exchange) profile=$1; shift ;;
esac
config="${XDG_CONFIG_HOME:-$HOME/.config}/chemdl-student/$profile"
mkdir -p "$config/labconfig"
cp "$here/$profile/jupyter_server_config.json" "$config/jupyter_server_config.json"
cp "$here/$profile/labconfig/page_config.json" "$config/labconfig/page_config.json"
export JUPYTER_CONFIG_DIR="$config"
export JUPYTER_PREFER_ENV_PATH=0
exec jupyter lab "$@"
