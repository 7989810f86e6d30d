// Internal to http/: the OpenSSL contexts behind TLS listeners and https
// upstreams. Never include outside http/ (it brings in Asio's SSL headers).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>

#include "core/status.h"
#include "http/server.h"

namespace writ {

// A listener's context: the certificate chain and key of `files`, TLS 1.2
// at least, and with a client CA the verification of callers' certificates.
// Reads the files each call (SIGHUP makes a new one).
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsFiles& files);

// An upstream's context: peers verified against `ca_file` (PEM), or the
// system's CAs when it is "", TLS 1.2 at least.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(const std::string& ca_file);

// Makes a connection check that the peer's certificate names `host` (a DNS
// name or an IP address) and sends it as SNI. False if OpenSSL refused.
bool ExpectPeerName(SSL* ssl, const std::string& host);

// The DNS and URI subject alternative names of the peer's certificate.
std::vector<std::string> PeerCertificateNames(SSL* ssl);

}  // namespace writ
