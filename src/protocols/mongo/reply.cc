#include "protocols/mongo/reply.h"

#include <bson/bson.h>

#include <cstring>

namespace spiker::mongo {
namespace {

constexpr int32_t kOpMsg = 2013;

int32_t get_i32(const char* p) {
  uint32_t u = 0;
  for (int i = 0; i < 4; ++i)
    u |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<int32_t>(u);
}

void append_json(std::string& out, const bson_t* doc) {
  size_t jl = 0;
  char* j = bson_as_relaxed_extended_json(doc, &jl);
  out.append(j != nullptr ? j : "null", j != nullptr ? jl : 4);
  bson_free(j);
}

// The first write error's code and message.
void read_write_error(bson_iter_t* first, Reply* out) {
  bson_iter_t e;
  out->message = "write error";
  if (!bson_iter_recurse(first, &e)) return;
  while (bson_iter_next(&e)) {
    if (std::strcmp(bson_iter_key(&e), "code") == 0) {
      out->code = static_cast<int32_t>(bson_iter_as_int64(&e));
    }
    if (std::strcmp(bson_iter_key(&e), "errmsg") == 0 && BSON_ITER_HOLDS_UTF8(&e)) {
      out->message = bson_iter_utf8(&e, nullptr);
    }
  }
}

void read_batch(bson_iter_t* batch, bool capture, Reply* out) {
  bson_iter_t docs;
  out->rows = 0;
  out->batch = true;
  if (capture) out->body = "[";
  if (bson_iter_recurse(batch, &docs)) {
    while (bson_iter_next(&docs)) {
      if (capture && BSON_ITER_HOLDS_DOCUMENT(&docs)) {
        uint32_t dl = 0;
        const uint8_t* dd = nullptr;
        bson_iter_document(&docs, &dl, &dd);
        bson_t d;
        if (bson_init_static(&d, dd, dl)) {
          if (out->rows > 0) out->body += ',';
          append_json(out->body, &d);
        }
      }
      ++out->rows;
    }
  }
  if (capture) out->body += ']';
}

}  // namespace

size_t parse_op_msg(std::string_view in, int32_t* response_to, std::string_view* document) {
  if (in.size() < 16) return 0;
  int32_t len = get_i32(in.data());
  if (len < 21 || static_cast<size_t>(len) > kMaxMessage || get_i32(in.data() + 12) != kOpMsg) {
    return SIZE_MAX;
  }
  if (in.size() < static_cast<size_t>(len)) return 0;
  *response_to = get_i32(in.data() + 8);
  // flags (4), then section kind 0 and its document, which the message must hold whole.
  int32_t doc_len = len >= 25 ? get_i32(in.data() + 21) : 0;
  if (in[20] != 0 || doc_len < 5 || doc_len > len - 21) return SIZE_MAX;
  *document = in.substr(21, static_cast<size_t>(doc_len));
  return static_cast<size_t>(len);
}

bool read_reply(std::string_view document, bool capture, bool written, bool whole, Reply* out) {
  *out = Reply{};
  bson_t reply;
  if (!bson_init_static(&reply, reinterpret_cast<const uint8_t*>(document.data()),
                        document.size())) {
    return false;
  }
  bson_iter_t it;
  out->ok = bson_iter_init_find(&it, &reply, "ok") && bson_iter_as_double(&it) == 1.0;
  if (!out->ok) {
    out->code = static_cast<int32_t>(
        bson_iter_init_find(&it, &reply, "code") ? bson_iter_as_int64(&it) : 0);
    out->message = bson_iter_init_find(&it, &reply, "errmsg") && BSON_ITER_HOLDS_UTF8(&it)
                       ? bson_iter_utf8(&it, nullptr)
                       : "command failed";
    return true;
  }
  bson_iter_t errors, first, field;
  if (bson_iter_init_find(&errors, &reply, "writeErrors") && BSON_ITER_HOLDS_ARRAY(&errors) &&
      bson_iter_recurse(&errors, &first) && bson_iter_next(&first) &&
      BSON_ITER_HOLDS_DOCUMENT(&first)) {
    out->ok = false;
    out->write_error = true;
    read_write_error(&first, out);
    return true;
  }
  if (bson_iter_init_find(&field, &reply, "cursor") && BSON_ITER_HOLDS_DOCUMENT(&field)) {
    bson_iter_t batch;
    if (bson_iter_recurse(&field, &batch) && bson_iter_find(&batch, "firstBatch") &&
        BSON_ITER_HOLDS_ARRAY(&batch)) {
      read_batch(&batch, capture, out);
    }
  } else if (written && bson_iter_init_find(&field, &reply, "n")) {
    out->rows = bson_iter_as_int64(&field);
  }
  if (whole && capture) {
    out->body.clear();
    append_json(out->body, &reply);
  }
  return true;
}

}  // namespace spiker::mongo
