// A small hand-written protobuf wire codec: a field reader that skips what it does not know and
// a writer for the scalar, string and nested-message fields the control API uses.
#pragma once

#include <stdint.h>

#include <string>
#include <string_view>
#include <vector>

namespace pb {

// WireType is the low three bits of a field key.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// Reader walks the fields of one serialized message. Usage:
//   Reader r(data); while (r.Next()) switch (r.field()) { case 1: r.ReadString(&s); ... default: r.Skip(); }
//   if (!r.ok()) malformed;
class Reader {
 public:
  explicit Reader(std::string_view data)
      : p_(reinterpret_cast<const uint8_t*>(data.data())), end_(p_ + data.size()) {}

  // Next moves to the next field; false at the end or on malformed input (then ok() is false).
  bool Next();
  uint32_t field() const { return field_; }
  uint32_t wire_type() const { return wire_type_; }
  bool ok() const { return ok_; }

  // Skip consumes the current field's value, whatever its wire type.
  void Skip();
  // ReadVarint consumes a varint value (bool, enums, int32/64, uint32/64).
  uint64_t ReadVarint();
  // ReadBool consumes a varint as a bool.
  bool ReadBool() { return ReadVarint() != 0; }
  // ReadBytes consumes a length-delimited value (string, bytes, nested message).
  std::string_view ReadBytes();
  // ReadString consumes a length-delimited value as a string.
  std::string ReadString() { return std::string(ReadBytes()); }
  // ReadFixed64 consumes a fixed64 value.
  uint64_t ReadFixed64();
  // ReadRepeatedVarint appends a repeated varint field, packed (wire type 2) or not (wire type 0).
  void ReadRepeatedVarint(std::vector<uint64_t>* out);

 private:
  bool Varint(uint64_t* v);
  void Fail() { ok_ = false; p_ = end_; }

  const uint8_t* p_;
  const uint8_t* end_;
  uint32_t field_ = 0;
  uint32_t wire_type_ = 0;
  bool ok_ = true;
};

// Writer builds one serialized message. Zero scalars and empty strings are omitted (proto3).
class Writer {
 public:
  // Varint writes a varint field unless v is 0.
  void Varint(uint32_t field, uint64_t v);
  // Int32 writes an int32 field (negative values sign-extended to 10 bytes) unless v is 0.
  void Int32(uint32_t field, int32_t v) { Varint(field, static_cast<uint64_t>(static_cast<int64_t>(v))); }
  // Bool writes a bool field unless false.
  void Bool(uint32_t field, bool v) { Varint(field, v ? 1 : 0); }
  // String writes a length-delimited field unless s is empty.
  void String(uint32_t field, std::string_view s);
  // Message writes a nested message field, even when it is empty.
  void Message(uint32_t field, const Writer& m);
  // data is the serialized message so far.
  const std::string& data() const { return out_; }

 private:
  void Key(uint32_t field, WireType wt);
  void RawVarint(uint64_t v);
  std::string out_;
};

}  // namespace pb
