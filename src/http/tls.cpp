#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

namespace writ {
namespace {

namespace ssl = boost::asio::ssl;

std::string Reason(const boost::system::error_code& ec) {
  std::string m = ec.message();
  return m.empty() ? "unknown OpenSSL error" : m;
}

void Harden(ssl::context& ctx) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeServerTlsContext(const TlsFiles& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  Harden(*ctx);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(files.cert, ec);
  if (ec) return Status(Code::kInvalidArgument, "cannot use certificate " + files.cert + ": " + Reason(ec));
  ctx->use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec) return Status(Code::kInvalidArgument, "cannot use key " + files.key + ": " + Reason(ec));
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return Status(Code::kInvalidArgument, "the key " + files.key + " does not belong to the certificate " + files.cert);
  if (!files.client_ca.empty()) {
    ctx->load_verify_file(files.client_ca, ec);
    if (ec) return Status(Code::kInvalidArgument, "cannot use client CA " + files.client_ca + ": " + Reason(ec));
    // Tell clients which CA to pick a certificate for.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str()))
      SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    ctx->set_verify_mode(ssl::verify_peer | (files.client_cert_required ? ssl::verify_fail_if_no_peer_cert : 0));
    // Resumed sessions must belong to this listener's verification.
    static const unsigned char kSessionContext[] = "writ";
    SSL_CTX_set_session_id_context(ctx->native_handle(), kSessionContext, sizeof kSessionContext - 1);
  }
  return ctx;
}

Result<std::shared_ptr<ssl::context>> MakeClientTlsContext(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  Harden(*ctx);
  boost::system::error_code ec;
  if (ca_file.empty()) ctx->set_default_verify_paths(ec);
  else ctx->load_verify_file(ca_file, ec);
  if (ec)
    return Status(Code::kInvalidArgument,
                  (ca_file.empty() ? std::string("cannot load the system's CAs") : "cannot use CA file " + ca_file) +
                      ": " + Reason(ec));
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

bool ExpectPeerName(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1 &&
         SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
}

std::vector<std::string> PeerCertificateNames(SSL* ssl) {
  std::vector<std::string> out;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    const ASN1_IA5STRING* s = n->type == GEN_DNS ? n->d.dNSName : n->type == GEN_URI ? n->d.uniformResourceIdentifier
                                                                                     : nullptr;
    if (s && s->length > 0)
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(s->length));
  }
  GENERAL_NAMES_free(names);
  return out;
}

}  // namespace writ
