#!/bin/sh
# `meson install` into a DESTDIR puts every file a distribution or a Flatpak needs in place.
set -eu

build=${BASTION_BUILD_ROOT:?}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --no-rebuild --destdir "$dest" --quiet >/dev/null

prefix=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c \
  'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
libdir=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c \
  'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
root="$dest$prefix"
app_id=io.github.bastiongtk.Bastion

fail=0
want() {
  if [ -e "$root/$1" ]; then echo "ok - $1"; else echo "not ok - $1 is missing"; fail=1; fi
}

want bin/bastion
want bin/bastion-cli
want share/applications/$app_id.desktop
want share/metainfo/$app_id.metainfo.xml
want share/icons/hicolor/scalable/apps/$app_id.svg
want share/icons/hicolor/symbolic/apps/$app_id-symbolic.svg
want share/glib-2.0/schemas/$app_id.gschema.xml
want share/man/man1/bastion-cli.1
want share/dbus-1/services/$app_id.service
for lang in $(grep -v '^#' "${BASTION_SOURCE_ROOT:?}/po/LINGUAS" || true); do
  want share/locale/$lang/LC_MESSAGES/bastion.mo
done

# The bundled libssh2 (when built as a subproject) is found through RUNPATH, not the system's.
if [ -e "$root/$libdir/bastion/libssh2.so.1" ]; then
  echo "ok - bundled libssh2 in $libdir/bastion"
  rp=$(readelf -d "$root/bin/bastion-cli" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  case "$rp" in
    *"$prefix/$libdir/bastion"*) echo "ok - bastion-cli RUNPATH $rp" ;;
    *) echo "not ok - bastion-cli RUNPATH '$rp' does not name $prefix/$libdir/bastion"; fail=1 ;;
  esac
fi

desktop-file-validate "$root/share/applications/$app_id.desktop" && echo "ok - installed desktop file validates"
appstreamcli validate --no-net "$root/share/metainfo/$app_id.metainfo.xml" >/dev/null && echo "ok - installed metainfo validates"
exit $fail
