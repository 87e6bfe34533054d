// IDX files (MNIST's format), plain and gzipped.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "pg_automl/errors.h"
#include "pg_automl/idx_reader.h"
#include "test_util.h"

namespace pg_automl {
namespace {

using testing_util::ThrowsError;

class IdxReader : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pg_automl_idx_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const auto& f : files_) std::remove(f.c_str());
    rmdir(dir_.c_str());
  }

  // Header for unsigned-byte data of the given dims, then `data`.
  static std::string Idx(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data,
                         uint8_t type = 0x08) {
    std::string s = {0, 0, char(type), char(dims.size())};
    for (uint32_t d : dims) {
      s += char(d >> 24);
      s += char(d >> 16);
      s += char(d >> 8);
      s += char(d);
    }
    s.append(data.begin(), data.end());
    return s;
  }
  std::string Write(const std::string& name, const std::string& bytes) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    files_.push_back(path);
    return path;
  }
  std::string WriteGz(const std::string& name, const std::string& bytes) {
    std::string path = dir_ + "/" + name;
    gzFile f = gzopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
    EXPECT_EQ(gzclose(f), Z_OK);
    files_.push_back(path);
    return path;
  }
  static std::vector<uint8_t> Iota(size_t n, uint8_t start = 0) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = uint8_t(start + i);
    return v;
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(IdxReader, ReadsPlainAndGzipped) {
  const std::string bytes = Idx({5, 2, 3}, Iota(30));
  for (const std::string& path : {Write("a.idx", bytes), WriteGz("a.idx.gz", bytes)}) {
    SCOPED_TRACE(path);
    IdxArray a = ReadIdx(path);
    EXPECT_EQ(a.dims, (std::vector<int64_t>{5, 2, 3}));
    EXPECT_EQ(a.ItemSize(), 6);
    EXPECT_EQ(a.data, Iota(30));
  }
}

TEST_F(IdxReader, OffsetAndLimit) {
  const std::string bytes = Idx({5, 2, 3}, Iota(30, 100));
  for (const std::string& path : {Write("b.idx", bytes), WriteGz("b.idx.gz", bytes)}) {
    SCOPED_TRACE(path);
    IdxArray a = ReadIdx(path, 2, 2);
    EXPECT_EQ(a.dims, (std::vector<int64_t>{2, 2, 3}));
    EXPECT_EQ(a.data, Iota(12, 100 + 12)) << "items 2 and 3";
    IdxArray rest = ReadIdx(path, 3);
    EXPECT_EQ(rest.dims[0], 2);
    EXPECT_EQ(rest.data, Iota(12, 100 + 18));
    IdxArray clamp = ReadIdx(path, 4, 100);
    EXPECT_EQ(clamp.dims[0], 1);
    EXPECT_EQ(clamp.data, Iota(6, 100 + 24));
    IdxArray none = ReadIdx(path, 1, 0);
    EXPECT_EQ(none.dims[0], 0);
    EXPECT_TRUE(none.data.empty());
    IdxArray at_end = ReadIdx(path, 5);
    EXPECT_EQ(at_end.dims[0], 0);
    EXPECT_TRUE(ThrowsError([&] { ReadIdx(path, 6); }, ErrorKind::InvalidParameter, {"offset"}));
    EXPECT_TRUE(ThrowsError([&] { ReadIdx(path, -1); }, ErrorKind::InvalidParameter, {"offset"}));
  }
}

TEST_F(IdxReader, OneDimensionalLabels) {
  std::string path = WriteGz("labels.gz", Idx({4}, {3, 1, 4, 1}));
  IdxArray a = ReadIdx(path);
  EXPECT_EQ(a.dims, (std::vector<int64_t>{4}));
  EXPECT_EQ(a.ItemSize(), 1);
  EXPECT_EQ(a.data, (std::vector<uint8_t>{3, 1, 4, 1}));
}

TEST_F(IdxReader, MissingFile) {
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(dir_ + "/does-not-exist"); }, ErrorKind::FileNotFound, {"does-not-exist"}));
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(dir_ + "/no/such/dir/file.gz"); }, ErrorKind::FileNotFound));
}

TEST_F(IdxReader, WrongMagic) {
  std::string bad = Idx({2, 2}, Iota(4));
  bad[0] = 1;
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(Write("m1", bad)); }, ErrorKind::DataCorrupted, {"not an IDX file"}));
  bad = Idx({2, 2}, Iota(4));
  bad[1] = 8;
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(WriteGz("m2.gz", bad)); }, ErrorKind::DataCorrupted));
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(Write("text", "hello, world\n")); }, ErrorKind::DataCorrupted));
  // Rank 0 and rank 5.
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(Write("r0", std::string("\0\0\x08\0", 4))); }, ErrorKind::DataCorrupted));
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(Write("r5", Idx({1, 1, 1, 1, 1}, {7}))); }, ErrorKind::DataCorrupted));
  // A zero dimension.
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(Write("d0", Idx({3, 0}, {}))); }, ErrorKind::DataCorrupted));
}

// Headers that claim absurd sizes: rejected as corrupt, without overflowing
// the size computation or allocating what the file cannot hold.
TEST_F(IdxReader, AbsurdDimensions) {
  // 2^22 * 2^21 * 2^21 = 2^64 bytes per item: wraps to 0 in 64-bit arithmetic.
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(Write("wrap", Idx({1, 1u << 22, 1u << 21, 1u << 21}, {}))); },
                          ErrorKind::DataCorrupted, {"too large"}));
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(Write("big_item", Idx({1, 1u << 13, 1u << 13}, {}))); },
                          ErrorKind::DataCorrupted, {"too large"}));
  // 2^28 items of 2^24 bytes (2^52 bytes) in a 24-byte file.
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(WriteGz("huge.gz", Idx({1u << 28, 1u << 12, 1u << 12}, {1, 2, 3}))); },
                          ErrorKind::DataCorrupted));
  // 2^24 items of 256 bytes (4 GiB) in a 20-byte file.
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(Write("4g", Idx({1u << 24, 256}, {1, 2, 3, 4}))); },
                          ErrorKind::DataCorrupted));
}

TEST_F(IdxReader, NonByteTypes) {
  for (uint8_t type : {0x09, 0x0B, 0x0C, 0x0D, 0x0E}) {
    std::string path = Write("t" + std::to_string(type), Idx({2}, {1, 2, 3, 4, 5, 6, 7, 8}, type));
    EXPECT_TRUE(ThrowsError([&] { ReadIdx(path); }, ErrorKind::FeatureNotSupported, {"unsigned bytes"}))
        << "type 0x" << std::hex << int(type);
  }
}

TEST_F(IdxReader, Truncated) {
  const std::string good = Idx({5, 2, 3}, Iota(30));
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(Write("empty", "")); }, ErrorKind::DataCorrupted));
  // Every cut of the plain file and of the gzipped bytes is an error, not a crash.
  for (size_t len = 0; len < good.size(); ++len) {
    std::string path = Write("cut" + std::to_string(len), good.substr(0, len));
    EXPECT_TRUE(ThrowsError([&] { ReadIdx(path); }, ErrorKind::DataCorrupted)) << "plain file cut to " << len;
  }
  // Reading only the items that are present works; reading past the cut does not.
  std::string cut = Write("cut_items", good.substr(0, good.size() - 9));  // 3.5 items
  EXPECT_EQ(ReadIdx(cut, 0, 3).data, Iota(18));
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(cut, 3, 1); }, ErrorKind::DataCorrupted));
  EXPECT_TRUE(ThrowsError([&] { ReadIdx(cut, 4); }, ErrorKind::DataCorrupted));

  std::string gz_path = WriteGz("full.gz", good);
  std::ifstream in(gz_path, std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(gz.size(), 20u);
  for (size_t len = 0; len + 8 < gz.size(); ++len) {  // cut before the trailer: data missing
    std::string path = Write("gzcut" + std::to_string(len), gz.substr(0, len));
    try {
      // zlib may decode every data byte before it misses the end of the
      // stream; then the data must be complete and right.
      IdxArray a = ReadIdx(path);
      EXPECT_EQ(a.data, Iota(30)) << "gzip cut to " << len << " of " << gz.size() << " bytes read wrong data";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::DataCorrupted) << "gzip cut to " << len << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "gzip cut to " << len << ": foreign exception " << e.what();
    }
  }
}

TEST_F(IdxReader, FashionMnistLabels) {
  const std::string path = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz";
  if (access(path.c_str(), R_OK) != 0) GTEST_SKIP() << path << " is not installed";
  IdxArray a = ReadIdx(path);
  ASSERT_EQ(a.dims, (std::vector<int64_t>{60000}));
  ASSERT_EQ(a.data.size(), 60000u);
  std::vector<int> counts(10, 0);
  for (uint8_t label : a.data) {
    ASSERT_LE(label, 9);
    ++counts[label];
  }
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c], 6000) << "class " << c;
  // A window reads the same labels as the whole file.
  IdxArray w = ReadIdx(path, 59990, 100);
  ASSERT_EQ(w.dims[0], 10);
  EXPECT_TRUE(std::equal(w.data.begin(), w.data.end(), a.data.begin() + 59990));
}

TEST_F(IdxReader, FashionMnistImagesWindow) {
  const std::string path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  if (access(path.c_str(), R_OK) != 0) GTEST_SKIP() << path << " is not installed";
  IdxArray a = ReadIdx(path, 9998, 5);
  EXPECT_EQ(a.dims, (std::vector<int64_t>{2, 28, 28}));
  EXPECT_EQ(a.ItemSize(), 784);
  ASSERT_EQ(a.data.size(), 2u * 784);
  int nonzero = 0;
  for (uint8_t v : a.data) nonzero += v != 0;
  EXPECT_GT(nonzero, 50) << "an image is not blank";
}

}  // namespace
}  // namespace pg_automl
