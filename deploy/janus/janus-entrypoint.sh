#!/bin/sh
# Janus (the SFU) for the compose and Kubernetes deployments: writes Janus's config from the
# environment and runs it in the foreground, logging to stdout. The config is the one `parley up`
# writes for its own Janus (parley.rtc.process.render_janus_config): only the VideoRoom plugin and
# the HTTP transport, string room ids, fresh files of mode 0600, no admin API at all. What
# differs: the Janus API listens on JANUS_HTTP_IP (another container or pod calls it), and only
# the addresses in JANUS_HTTP_ACL (and 127.*) may call it.
#
# Environment (the PARLEY_* names are media-service's own settings, so one env file serves both):
#   PARLEY_JANUS_API_SECRET      required: the Janus API's secret (openssl rand -hex 32)
#   PARLEY_JANUS_ADMIN_KEY       required: VideoRoom's admin_key (room creation, RTP forwarding)
#   PARLEY_JANUS_RTP_PORTS       UDP ports for media, default 20000-20199 (open them to browsers)
#   PARLEY_JANUS_PUBLIC_IP       the address browsers reach Janus at, when Janus sits behind NAT
#                                or in a container network (nat_1_1_mapping)
#   PARLEY_JANUS_ICE_INTERFACES  interfaces to gather ICE candidates on (default: all)
#   JANUS_HTTP_IP                address of the Janus API (default 0.0.0.0), port JANUS_HTTP_PORT
#                                (default 8088): never a public one
#   JANUS_HTTP_ACL               comma-separated address prefixes allowed to call the API
#                                ("172.30.80." or "10."); 127. and JANUS_HTTP_IP always are
#   JANUS_CONF_DIR               where the config is written (default /tmp/janus)
#   JANUS_DEBUG_LEVEL            0-7 (default 3: warnings and errors)
set -eu

die() {
    echo "janus-entrypoint: $*" >&2
    exit 64
}

# Values go into libconfig strings: each is checked against the characters it may hold.
check() {  # NAME VALUE ALLOWED-CHARACTERS [optional]
    if [ -z "$2" ]; then
        [ "${4:-}" = optional ] && return 0
        die "$1 must be set"
    fi
    case "$2" in
        *[!$3]*) die "$1 may only hold the characters $3 (got: $2)" ;;
    esac
}

TOKEN='A-Za-z0-9._~+/=-'
api_secret=${PARLEY_JANUS_API_SECRET:-}
admin_key=${PARLEY_JANUS_ADMIN_KEY:-}
check PARLEY_JANUS_API_SECRET "$api_secret" "$TOKEN"
check PARLEY_JANUS_ADMIN_KEY "$admin_key" "$TOKEN"
# The admin API is off; its secret is set anyway, and nobody knows it.
admin_secret=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')

rtp_ports=${PARLEY_JANUS_RTP_PORTS:-20000-20199}
case "$rtp_ports" in
    [0-9]*-[0-9]*) check PARLEY_JANUS_RTP_PORTS "${rtp_ports%%-*}${rtp_ports#*-}" '0-9' ;;
    *) die "PARLEY_JANUS_RTP_PORTS must look like 20000-20199 (got: $rtp_ports)" ;;
esac
if [ "${rtp_ports%%-*}" -lt 1 ] || [ "${rtp_ports%%-*}" -gt "${rtp_ports#*-}" ] \
    || [ "${rtp_ports#*-}" -gt 65535 ]; then
    die "PARLEY_JANUS_RTP_PORTS $rtp_ports is not a port range"
fi
public_ip=${PARLEY_JANUS_PUBLIC_IP:-}
check PARLEY_JANUS_PUBLIC_IP "$public_ip" '0-9A-Fa-f.:,' optional
ice_interfaces=${PARLEY_JANUS_ICE_INTERFACES:-}
check PARLEY_JANUS_ICE_INTERFACES "$ice_interfaces" 'A-Za-z0-9._:,-' optional
http_ip=${JANUS_HTTP_IP:-0.0.0.0}
check JANUS_HTTP_IP "$http_ip" '0-9A-Fa-f.:'
http_port=${JANUS_HTTP_PORT:-8088}
check JANUS_HTTP_PORT "$http_port" '0-9'
acl="127."
case "$http_ip" in
    0.0.0.0 | :: | 127.*) ;;
    *) acl="$acl,$http_ip" ;;  # the host itself (a kubelet's probes come from its address)
esac
acl="$acl${JANUS_HTTP_ACL:+,$JANUS_HTTP_ACL}"
check JANUS_HTTP_ACL "$acl" '0-9A-Fa-f.:,'
debug_level=${JANUS_DEBUG_LEVEL:-3}
check JANUS_DEBUG_LEVEL "$debug_level" '0-7'
conf=${JANUS_CONF_DIR:-/tmp/janus}

# The package's modules (Debian: /usr/lib/<triplet>/janus); every one but ours is disabled.
lib=
for candidate in /usr/lib/*/janus /usr/lib/janus /usr/local/lib/janus; do
    if [ -f "$candidate/plugins/libjanus_videoroom.so" ] \
        && [ -f "$candidate/transports/libjanus_http.so" ]; then
        lib=$candidate
        break
    fi
done
[ -n "$lib" ] || die "no Janus with the VideoRoom plugin and the HTTP transport is installed"
others() {  # FOLDER KEEP: the .so files of FOLDER but KEEP, comma-separated
    [ -d "$1" ] || return 0
    (cd "$1" && ls -- *.so 2>/dev/null | grep -vx "$2" | paste -sd, -) || true
}

nat=""
[ -n "$ice_interfaces" ] && nat="$nat
	ice_enforce_list = \"$ice_interfaces\""
[ -n "$public_ip" ] && nat="$nat
	nat_1_1_mapping = \"$public_ip\""

umask 077
mkdir -p "$conf"
cat >"$conf/janus.jcfg" <<EOF
# Written by deploy/janus/janus-entrypoint.sh at each start.
general: {
	configs_folder = "$conf"
	debug_level = $debug_level
	debug_colors = false
	debug_timestamps = true
	session_timeout = 60
	api_secret = "$api_secret"
	admin_secret = "$admin_secret"
	server_name = "parley"
	hide_dependencies = true
	protected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr"]
	plugins_folder = "$lib/plugins"
	transports_folder = "$lib/transports"
	events_folder = "$lib/events"
	loggers_folder = "$lib/loggers"
}
certificates: {
}
media: {
	ipv6 = false
	rtp_port_range = "$rtp_ports"
}
nat: {
	nice_debug = false
	ignore_mdns = true$nat
}
plugins: {
	disable = "$(others "$lib/plugins" libjanus_videoroom.so)"
}
transports: {
	disable = "$(others "$lib/transports" libjanus_http.so)"
}
loggers: {
	disable = "$(others "$lib/loggers" '')"
}
events: {
	broadcast = false
}
EOF
cat >"$conf/janus.transport.http.jcfg" <<EOF
general: {
	json = "compact"
	base_path = "/janus"
	http = true
	port = $http_port
	https = false
	ip = "$http_ip"
	acl = "$acl"
}
admin: {
	admin_http = false
	admin_https = false
}
cors: {
}
EOF
cat >"$conf/janus.plugin.videoroom.jcfg" <<EOF
general: {
	admin_key = "$admin_key"
	lock_rtp_forward = true
	string_ids = true
}
EOF

echo "janus-entrypoint: Janus API on http://$http_ip:$http_port/janus (from $acl)," \
    "RTP on UDP $rtp_ports${public_ip:+, announced as $public_ip}"
exec janus -F "$conf" -C "$conf/janus.jcfg"
