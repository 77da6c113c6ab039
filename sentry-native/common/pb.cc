// A small hand-written protobuf wire codec (see pb.h).
#include "pb.h"

namespace pb {

bool Reader::Varint(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ >= end_) return false;
    uint8_t b = *p_++;
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool Reader::Next() {
  if (!ok_ || p_ >= end_) return false;
  uint64_t key;
  if (!Varint(&key)) {
    Fail();
    return false;
  }
  field_ = static_cast<uint32_t>(key >> 3);
  wire_type_ = static_cast<uint32_t>(key & 7);
  if (field_ == 0) {
    Fail();
    return false;
  }
  return true;
}

void Reader::Skip() {
  switch (wire_type_) {
    case kVarint:
      ReadVarint();
      return;
    case kFixed64:
      ReadFixed64();
      return;
    case kLengthDelimited:
      ReadBytes();
      return;
    case kFixed32:
      if (end_ - p_ < 4) return Fail();
      p_ += 4;
      return;
    default:  // groups (3, 4) are not used by proto3 and are treated as malformed
      Fail();
  }
}

uint64_t Reader::ReadVarint() {
  uint64_t v = 0;
  if (wire_type_ != kVarint || !Varint(&v)) {
    Fail();
    return 0;
  }
  return v;
}

std::string_view Reader::ReadBytes() {
  uint64_t len = 0;
  if (wire_type_ != kLengthDelimited || !Varint(&len) ||
      len > static_cast<uint64_t>(end_ - p_)) {
    Fail();
    return {};
  }
  std::string_view s(reinterpret_cast<const char*>(p_), static_cast<size_t>(len));
  p_ += len;
  return s;
}

uint64_t Reader::ReadFixed64() {
  if (wire_type_ != kFixed64 || end_ - p_ < 8) {
    Fail();
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= static_cast<uint64_t>(p_[i]) << (8 * i);
  p_ += 8;
  return v;
}

void Reader::ReadRepeatedVarint(std::vector<uint64_t>* out) {
  if (wire_type_ == kVarint) {
    out->push_back(ReadVarint());
    return;
  }
  std::string_view packed = ReadBytes();
  if (!ok_) return;
  Reader inner(packed);
  inner.wire_type_ = kVarint;
  while (inner.p_ < inner.end_) {
    uint64_t v;
    if (!inner.Varint(&v)) return Fail();
    out->push_back(v);
  }
}

void Writer::RawVarint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void Writer::Key(uint32_t field, WireType wt) { RawVarint((static_cast<uint64_t>(field) << 3) | wt); }

void Writer::Varint(uint32_t field, uint64_t v) {
  if (v == 0) return;
  Key(field, kVarint);
  RawVarint(v);
}

void Writer::String(uint32_t field, std::string_view s) {
  if (s.empty()) return;
  Key(field, kLengthDelimited);
  RawVarint(s.size());
  out_.append(s.data(), s.size());
}

void Writer::Message(uint32_t field, const Writer& m) {
  Key(field, kLengthDelimited);
  RawVarint(m.out_.size());
  out_.append(m.out_);
}

}  // namespace pb
