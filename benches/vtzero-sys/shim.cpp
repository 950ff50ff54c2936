// The decode bench's walk over vtzero (https://github.com/mapbox/vtzero), the same work the
// Rust decoders do in benches/decode.rs, so their checksums must agree:
//
// - full: every layer, every feature, every property's key and value resolved (a string's
//   length, a number's bits), every vertex visited;
// - geometry: every vertex of every feature, no properties;
// - scan: layer names and feature counts only.
//
// A vertex adds x ^ y to the sum. vtzero hands a ring's first point again at its end, as the
// Rust `Sum` sink does at ClosePath, so the sums match without special cases.
//
// Errors (vtzero throws) are caught here: nothing unwinds into Rust.

#include <cstdint>
#include <cstring>
#include <exception>

#include <vtzero/vector_tile.hpp>

namespace {

struct vertex_sum {
    std::int64_t sum = 0;

    void add(vtzero::point p) noexcept {
        sum += static_cast<std::int64_t>(p.x) ^ static_cast<std::int64_t>(p.y);
    }

    void points_begin(std::uint32_t /*count*/) noexcept {}
    void points_point(vtzero::point p) noexcept { add(p); }
    void points_end() noexcept {}

    void linestring_begin(std::uint32_t /*count*/) noexcept {}
    void linestring_point(vtzero::point p) noexcept { add(p); }
    void linestring_end() noexcept {}

    void ring_begin(std::uint32_t /*count*/) noexcept {}
    void ring_point(vtzero::point p) noexcept { add(p); }
    void ring_end(vtzero::ring_type /*type*/) noexcept {}
};

// The same fold as `consume` in benches/decode.rs: key length ^ number ^ text length.
std::int64_t consume(std::size_t key_len, std::uint64_t number, std::size_t text_len) noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(key_len) ^ number ^
                                     static_cast<std::uint64_t>(text_len));
}

std::int64_t property_sum(const vtzero::property& property) {
    const auto key_len = property.key().size();
    const auto value = property.value();
    switch (value.type()) {
        case vtzero::property_value_type::string_value:
            return consume(key_len, 0, value.string_value().size());
        case vtzero::property_value_type::float_value: {
            const float f = value.float_value();
            std::uint32_t bits;
            std::memcpy(&bits, &f, sizeof bits);
            return consume(key_len, bits, 0);
        }
        case vtzero::property_value_type::double_value: {
            const double d = value.double_value();
            std::uint64_t bits;
            std::memcpy(&bits, &d, sizeof bits);
            return consume(key_len, bits, 0);
        }
        case vtzero::property_value_type::int_value:
            return consume(key_len, static_cast<std::uint64_t>(value.int_value()), 0);
        case vtzero::property_value_type::uint_value:
            return consume(key_len, value.uint_value(), 0);
        case vtzero::property_value_type::sint_value:
            return consume(key_len, static_cast<std::uint64_t>(value.sint_value()), 0);
        case vtzero::property_value_type::bool_value:
            return consume(key_len, value.bool_value() ? 1 : 0, 0);
    }
    return 0;
}

void decode_vertices(const vtzero::feature& feature, vertex_sum& sum) {
    // A feature of unknown type has no geometry to walk (vtzero would throw).
    if (feature.geometry_type() != vtzero::GeomType::UNKNOWN) {
        vtzero::decode_geometry(feature.geometry(), sum);
    }
}

void report(const std::exception& e, char* err, std::size_t err_len) noexcept {
    if (err_len == 0) {
        return;
    }
    std::strncpy(err, e.what(), err_len - 1);
    err[err_len - 1] = '\0';
}

// Runs `walk`, turning an exception into its message in `err` and 1; 0 when it returned.
template <class Walk>
int guarded(char* err, std::size_t err_len, Walk&& walk) noexcept {
    try {
        walk();
        return 0;
    } catch (const std::exception& e) {
        report(e, err, err_len);
        return 1;
    }
}

} // namespace

extern "C" {

int mlytiles_vtzero_full(const std::uint8_t* data, std::size_t len, std::int64_t* out, char* err,
                         std::size_t err_len) noexcept {
    return guarded(err, err_len, [&] {
        vtzero::vector_tile tile{reinterpret_cast<const char*>(data), len};
        vertex_sum sum;
        while (auto layer = tile.next_layer()) {
            while (auto feature = layer.next_feature()) {
                while (auto property = feature.next_property()) {
                    sum.sum += property_sum(property);
                }
                decode_vertices(feature, sum);
            }
        }
        *out = sum.sum;
    });
}

int mlytiles_vtzero_geometry(const std::uint8_t* data, std::size_t len, std::int64_t* out, char* err,
                             std::size_t err_len) noexcept {
    return guarded(err, err_len, [&] {
        vtzero::vector_tile tile{reinterpret_cast<const char*>(data), len};
        vertex_sum sum;
        while (auto layer = tile.next_layer()) {
            while (auto feature = layer.next_feature()) {
                decode_vertices(feature, sum);
            }
        }
        *out = sum.sum;
    });
}

// Writes the number of features to out[0] and the layer names' total length to out[1] (so
// reading the names is not optimised away).
int mlytiles_vtzero_scan(const std::uint8_t* data, std::size_t len, std::int64_t* out, char* err,
                         std::size_t err_len) noexcept {
    return guarded(err, err_len, [&] {
        vtzero::vector_tile tile{reinterpret_cast<const char*>(data), len};
        std::int64_t features = 0;
        std::int64_t names = 0;
        while (auto layer = tile.next_layer()) {
            names += static_cast<std::int64_t>(layer.name().size());
            features += static_cast<std::int64_t>(layer.num_features());
        }
        out[0] = features;
        out[1] = names;
    });
}

} // extern "C"
