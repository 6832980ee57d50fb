##########################################################################
#
# pgAdmin 4 - PostgreSQL Tools
#
##########################################################################

# Application version number components
APP_RELEASE = 8
APP_REVISION = 4

# Application version suffix, e.g. 'beta1', 'dev'. Usually an empty string
# for GA releases.
APP_SUFFIX = ''

# Numeric application version for upgrade checks.
APP_VERSION_INT = 80400
