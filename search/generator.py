"""Deterministic synthetic catalog for performance work: the same seed gives the same products.

Products are drawn one after another from one seeded RNG, so the first N products of a larger
catalog equal a catalog of size N. Titles read like a shop's ("Oakridge Mid-Century Walnut
Coffee Table"), prices follow a log-normal around each product type's typical price, and
review counts are heavy-tailed like real shops' (most products have few, some have thousands).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(2022, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 3 * 365 * 24 * 3600


@dataclass(frozen=True)
class ProductType:
    noun: str  # singular, as in a title
    typical_price: float  # major units
    materials: tuple[str, ...]
    features: tuple[str, ...]


@dataclass(frozen=True)
class Leaf:
    root: str
    slug: str
    types: tuple[ProductType, ...]


def _t(noun: str, price: float, materials: str, features: str) -> ProductType:
    return ProductType(noun, price, tuple(materials.split(",")), tuple(features.split(",")))


_WOOD = "Walnut,Oak,Pine,Teak,Acacia,Bamboo,Metal,Glass"
_FABRIC = "Velvet,Linen,Leather,Boucle,Cotton,Microfiber"
_CLOTH = "Cotton,Linen,Denim,Wool,Silk,Polyester,Cashmere"
TAXONOMY: dict[str, dict[str, list[ProductType]]] = {
    "furniture": {
        "living-room-furniture": [
            _t("Sofa", 900, _FABRIC, "deep seats,removable cushions,kiln-dried frame"),
            _t("Sectional Sofa", 1500, _FABRIC, "reversible chaise,modular pieces,storage"),
            _t("Coffee Table", 250, _WOOD, "lift top,hidden storage,rounded corners"),
            _t("Accent Chair", 320, _FABRIC, "swivel base,tufted back,solid wood legs"),
            _t("TV Stand", 280, _WOOD, "cable management,adjustable shelves,sliding doors"),
            _t("Bookcase", 210, _WOOD, "five shelves,anti-tip kit,open back"),
        ],
        "bedroom-furniture": [
            _t("Platform Bed", 650, _WOOD + ",Upholstered", "no box spring needed,slatted base"),
            _t("Nightstand", 140, _WOOD, "two drawers,charging station,soft-close"),
            _t("Dresser", 480, _WOOD, "six drawers,dovetail joints,metal glides"),
            _t("Wardrobe", 560, _WOOD, "hanging rail,mirrored doors,adjustable shelves"),
        ],
        "dining-furniture": [
            _t("Dining Table", 600, _WOOD, "extendable leaf,seats six,trestle base"),
            _t("Dining Chair", 130, _WOOD + "," + _FABRIC, "stackable,padded seat"),
            _t("Bar Stool", 110, "Metal,Wood,Leather,Velvet", "counter height,footrest,swivel"),
        ],
        "office-furniture": [
            _t("Office Chair", 260, "Mesh,Leather,Fabric", "lumbar support,adjustable arms,tilt lock"),
            _t("Standing Desk", 450, _WOOD, "electric lift,memory presets,cable tray"),
        ],
    },
    "home-decor": {
        "rugs": [
            _t("Area Rug", 190, "Wool,Jute,Cotton,Polypropylene", "non-shedding,stain resistant,hand-tufted")
        ],
        "wall-decor": [
            _t("Wall Art", 90, "Canvas,Metal,Wood,Paper", "ready to hang,gallery wrapped"),
            _t("Wall Mirror", 150, "Glass,Metal,Wood", "beveled edge,round frame"),
        ],
        "pillows-and-throws": [
            _t("Throw Pillow", 35, "Velvet,Linen,Cotton,Faux Fur", "hidden zipper,down alternative fill"),
            _t("Throw Blanket", 55, "Wool,Cotton,Fleece,Cashmere", "machine washable,fringed edge"),
        ],
        "lighting": [
            _t("Floor Lamp", 120, "Metal,Brass,Wood,Linen", "dimmable,arc design,foot switch"),
            _t("Table Lamp", 75, "Ceramic,Brass,Glass,Metal", "USB port,linen shade,three-way switch"),
            _t("Pendant Light", 160, "Glass,Brass,Rattan,Metal", "adjustable cord,dimmable"),
            _t("Chandelier", 420, "Crystal,Brass,Metal,Glass", "six lights,adjustable chain"),
        ],
        "curtains": [
            _t("Curtain Panel", 40, "Linen,Velvet,Cotton,Polyester", "blackout lining,grommet top,thermal")
        ],
    },
    "kitchen": {
        "cookware": [
            _t("Frying Pan", 45, "Cast Iron,Stainless Steel,Nonstick,Copper", "oven safe,induction ready"),
            _t("Dutch Oven", 110, "Enameled Cast Iron,Cast Iron", "self-basting lid,5.5 quart"),
            _t("Cookware Set", 220, "Stainless Steel,Nonstick,Copper", "ten pieces,dishwasher safe"),
        ],
        "kitchen-appliances": [
            _t("Coffee Maker", 90, "Stainless Steel,Plastic", "programmable,12 cup,thermal carafe"),
            _t("Blender", 80, "Glass,Plastic,Stainless Steel", "pulse mode,ice crushing,1000 watt"),
            _t("Air Fryer", 110, "Plastic,Stainless Steel", "digital display,6 quart,dishwasher safe basket"),
        ],
        "tableware": [
            _t("Dinnerware Set", 85, "Stoneware,Porcelain,Melamine", "service for four,microwave safe"),
            _t("Chef Knife", 70, "Stainless Steel,Damascus Steel,Ceramic", "full tang,ergonomic handle"),
        ],
    },
    "electronics": {
        "phones": [
            _t("Smartphone", 650, "Aluminium,Glass,Titanium", "OLED display,triple camera,5G,all-day battery")
        ],
        "computers": [
            _t("Laptop", 1100, "Aluminium,Magnesium", "16GB RAM,1TB SSD,backlit keyboard"),
            _t("Tablet", 450, "Aluminium,Glass", "11 inch display,stylus support,Wi-Fi"),
            _t("Monitor", 320, "Plastic,Aluminium", "27 inch,4K,144Hz,IPS panel"),
        ],
        "audio": [
            _t(
                "Wireless Headphones",
                180,
                "Plastic,Aluminium,Leather",
                "noise cancelling,30 hour battery,Bluetooth",
            ),
            _t("Earbuds", 120, "Plastic", "noise cancelling,water resistant,charging case"),
            _t(
                "Bluetooth Speaker",
                90,
                "Fabric,Rubber,Aluminium",
                "waterproof,12 hour battery,stereo pairing",
            ),
        ],
        "tv-and-video": [
            _t("Smart TV", 700, "Plastic,Aluminium", "4K HDR,55 inch,voice remote,streaming apps")
        ],
        "cameras": [
            _t("Mirrorless Camera", 1200, "Magnesium,Plastic", "24MP sensor,4K video,image stabilisation")
        ],
    },
    "fashion": {
        "mens-clothing": [
            _t("T-Shirt", 25, _CLOTH, "crew neck,relaxed fit,pre-shrunk"),
            _t("Oxford Shirt", 55, _CLOTH, "button-down collar,slim fit"),
            _t("Jeans", 70, "Denim,Stretch Denim", "straight leg,five pocket,mid rise"),
            _t("Hoodie", 60, "Cotton,Fleece,Polyester", "kangaroo pocket,drawstring hood"),
        ],
        "womens-clothing": [
            _t("Midi Dress", 85, _CLOTH, "wrap front,tie waist,lined"),
            _t("Blouse", 50, _CLOTH, "puff sleeves,relaxed fit"),
            _t("Sweater", 75, "Wool,Cashmere,Cotton,Alpaca", "crew neck,ribbed cuffs"),
        ],
        "shoes": [
            _t(
                "Running Shoes",
                110,
                "Mesh,Knit,Synthetic",
                "cushioned sole,breathable upper,reflective details",
            ),
            _t("Leather Boots", 160, "Leather,Suede", "lace-up,lug sole,water resistant"),
            _t("Sneakers", 85, "Canvas,Leather,Knit", "rubber sole,padded collar"),
        ],
        "bags-and-accessories": [
            _t("Handbag", 140, "Leather,Vegan Leather,Canvas,Suede", "adjustable strap,zip closure"),
            _t("Backpack", 80, "Nylon,Canvas,Leather", "laptop sleeve,water resistant"),
            _t("Sunglasses", 95, "Acetate,Metal,Titanium", "polarized lenses,UV400"),
            _t(
                "Wristwatch", 220, "Stainless Steel,Leather,Titanium", "sapphire crystal,water resistant 100m"
            ),
        ],
    },
    "beauty": {
        "makeup": [
            _t("Lipstick", 18, "Matte,Satin,Gloss", "long-wearing,hydrating,cruelty-free"),
            _t("Mascara", 15, "Waterproof,Volumizing,Lengthening", "smudge-proof,buildable"),
            _t("Foundation", 32, "Liquid,Powder,Cream", "SPF 15,buildable coverage,oil-free"),
        ],
        "skin-care": [
            _t("Moisturizer", 28, "Gel,Cream,Lotion", "hyaluronic acid,fragrance-free,non-comedogenic"),
            _t("Face Serum", 35, "Vitamin C,Retinol,Niacinamide", "brightening,dermatologist tested"),
        ],
        "fragrances": [_t("Eau de Parfum", 85, "Floral,Woody,Citrus,Oriental", "long-lasting,50ml spray")],
        "hair-care": [_t("Shampoo", 14, "Argan Oil,Tea Tree,Coconut", "sulfate-free,color safe")],
    },
    "sports-and-outdoors": {
        "fitness": [
            _t("Yoga Mat", 40, "TPE,Natural Rubber,Cork,PVC", "non-slip,6mm thick,carry strap"),
            _t("Dumbbell Set", 120, "Cast Iron,Neoprene,Rubber", "adjustable weight,storage rack"),
        ],
        "camping": [
            _t("Camping Tent", 210, "Nylon,Polyester,Canvas", "four person,waterproof rainfly,quick setup"),
            _t("Sleeping Bag", 90, "Down,Synthetic", "rated to 20F,compression sack"),
        ],
        "cycling": [
            _t("Road Bike", 1300, "Aluminium,Carbon,Steel", "22 speed,disc brakes,lightweight frame")
        ],
    },
    "grocery": {
        "coffee-and-tea": [
            _t("Ground Coffee", 14, "Arabica,Robusta,Decaf", "medium roast,single origin,fair trade"),
            _t("Green Tea", 9, "Sencha,Matcha,Jasmine", "organic,20 tea bags"),
        ],
        "pantry": [
            _t("Olive Oil", 16, "Extra Virgin,Organic,Cold Pressed", "first press,1 litre bottle"),
            _t("Dark Chocolate", 5, "70% Cacao,85% Cacao,Sea Salt", "fair trade,vegan"),
            _t("Pasta", 4, "Durum Wheat,Whole Wheat,Gluten Free", "bronze cut,slow dried"),
        ],
    },
}

BRANDS: dict[str, list[str]] = {
    "furniture": [
        "Oakridge",
        "Harbor & Pine",
        "Nordhaven",
        "Maple Lane",
        "Casa Verde",
        "Ironwood",
        "Loft Theory",
        "Willow & Stone",
    ],
    "home-decor": ["Lumen House", "Terra Loom", "Quiet Nest", "Brightwell", "Soft Haven"],
    "kitchen": ["Copperleaf", "ChefMate", "Hearth & Home", "Kettle Creek"],
    "electronics": ["Voltix", "Nexon", "Auralis", "Pixelon", "Zentro", "Kairo"],
    "fashion": ["Urban Thread", "Northline", "Velvet & Vine", "Stride", "Coastal Co.", "Ember"],
    "beauty": ["Lumiere", "Pure Bloom", "Silk & Sage", "Glowlab"],
    "sports-and-outdoors": ["Peakform", "TrailBlaze", "Corefit", "Summit Gear"],
    "grocery": ["Green Valley", "Harvest Table", "Golden Mill"],
}
STYLES = [
    "Modern",
    "Mid-Century",
    "Classic",
    "Rustic",
    "Scandinavian",
    "Industrial",
    "Minimalist",
    "Vintage",
    "Coastal",
    "Bohemian",
    "Essential",
    "Premium",
    "Compact",
    "Deluxe",
    "Pro",
]
COLOURS = [
    "Black",
    "White",
    "Grey",
    "Navy",
    "Beige",
    "Green",
    "Blue",
    "Red",
    "Brown",
    "Pink",
    "Ivory",
    "Charcoal",
    "Olive",
    "Teal",
    "Mustard",
]
SIZES = ["XS", "S", "M", "L", "XL"]
OPENERS = [
    "Designed for everyday use, the {title} brings {style_l} style to any {place}.",
    "The {title} combines {material_l} construction with a {style_l} look.",
    "Meet the {title}: {feature}, built to last.",
    "Upgrade your {place} with the {title}, a {style_l} favourite.",
]
PLACES = {
    "furniture": "home",
    "home-decor": "room",
    "kitchen": "kitchen",
    "electronics": "desk",
    "fashion": "wardrobe",
    "beauty": "routine",
    "sports-and-outdoors": "adventure",
    "grocery": "pantry",
}
LEAVES: list[Leaf] = [
    Leaf(root, slug, tuple(types)) for root, leaves in TAXONOMY.items() for slug, types in leaves.items()
]


def _price_minor(rng: random.Random, typical: float) -> int:
    major = max(1.0, typical * math.exp(rng.gauss(0.0, 0.35)))
    return int(major) * 100 + 99 if major >= 10 else round(major * 100)


def _ratings(rng: random.Random) -> tuple[float, int]:
    count = int(rng.paretovariate(1.1)) - 1
    count = min(count * rng.choice((1, 1, 2, 5)), 20_000)
    if count == 0:
        return 0.0, 0
    mean = min(5.0, max(1.0, rng.gauss(4.1, 0.55)))
    return round(mean, 2), count


def generate_products(n: int, seed: int = 42, start_id: int = 1) -> Iterator[dict[str, Any]]:
    """Yield `n` plain product dicts (see `search.documents.build_document`)."""
    rng = random.Random(seed)
    for i in range(n):
        pid = start_id + i
        leaf = rng.choice(LEAVES)
        kind = rng.choice(leaf.types)
        brand = rng.choice(BRANDS[leaf.root])
        style = rng.choice(STYLES)
        material = rng.choice(kind.materials)
        colour = rng.choice(COLOURS)
        features = rng.sample(kind.features, k=min(2, len(kind.features)))
        title = f"{brand} {style} {material} {kind.noun}"
        if rng.random() < 0.5 and leaf.root not in ("beauty", "grocery"):
            title += f", {colour}"
        opener = rng.choice(OPENERS).format(
            title=f"{style} {kind.noun}",
            style_l=style.lower(),
            material_l=material.lower(),
            feature=features[0],
            place=PLACES[leaf.root],
        )
        coloured = leaf.root not in ("beauty", "grocery")
        made = f"Made from {material.lower()}" + (f" in {colour.lower()}" if coloured else "")
        description = f"{opener} Features {' and '.join(features)}. {made} by {brand.rstrip('.')}."
        attributes: dict[str, Any] = {"material": material}
        if coloured:
            attributes["colour"] = colour
        if leaf.root == "fashion":
            attributes["size"] = rng.choice(SIZES)
        rating_avg, rating_count = _ratings(rng)
        stock = 0 if rng.random() < 0.08 else rng.randint(1, 500)
        created = EPOCH + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        code = "".join(w[0] for w in kind.noun.split()).upper()
        yield {
            "id": pid,
            "sku": f"{leaf.root[:3].upper()}-{code}-{pid:07d}",
            "title": title,
            "description": description,
            "brand": brand,
            "category_path": [leaf.root, leaf.slug],
            "tags": [kind.noun.lower(), style.lower()],
            "attributes": attributes,
            "price_minor": _price_minor(rng, kind.typical_price),
            "currency": "USD",
            "rating_avg": rating_avg,
            "rating_count": rating_count,
            "popularity": round(rating_count * (0.5 + rng.random()), 2),
            "stock": stock,
            "created_at": created,
            "photo_url": None,
            "thumbnail_url": None,
        }
