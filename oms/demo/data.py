"""The demo shop's fixed data: channels, warehouses, tax rates, product
families, places and names. `manage.py demo_data` turns it into records."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal

# The SKU the README's curl orders: always created, with plenty of stock in DC-NJ.
README_SKU = "TEE-BLK-M"
DEFAULT_ORDERS = 300
HISTORY_DAYS = 90
# Units the default order history sells in all, roughly (300 orders: 90% of 2.3 units,
# 10% B2B of ~120): opening stock is sized against it, by SKU popularity.
HISTORY_UNITS = 4300
CANCEL_SHARE = 0.05
# GS1 prefix 200-299 is "restricted circulation" (in-store numbering): these
# EAN-13s are valid and can never collide with a real product's GTIN.
BARCODE_PREFIX = "200"


def demo_token(code: str) -> str:
    """The well-known API key of a demo channel (printed by the launcher)."""
    if code == "WEB":
        return os.environ.get("OMS_DEMO_TOKEN") or "demo-web-token"
    return f"demo-{code.lower()}-token"


# --- reference data ------------------------------------------------------------

CHANNELS = [
    {
        "code": "WEB",
        "name": "Web store (US)",
        "kind": "web",
        "currency": "USD",
        "send_cart_reminders": True,
        "shipping_flat_rate": Decimal("5.99"),
        "free_shipping_threshold": Decimal("75.00"),
        "sender_email": "shop@oms.localhost",
        "support_email": "help@oms.localhost",
    },
    {
        "code": "EU-WEB",
        "name": "Web store (EU)",
        "kind": "web",
        "currency": "EUR",
        "prices_include_tax": True,
        "send_cart_reminders": True,
        "shipping_flat_rate": Decimal("4.95"),
        "free_shipping_threshold": Decimal("60.00"),
        "sender_email": "shop-eu@oms.localhost",
        "support_email": "help-eu@oms.localhost",
    },
    {
        "code": "PHONE",
        "name": "Phone orders",
        "kind": "phone",
        "currency": "USD",
        "shipping_flat_rate": Decimal("7.50"),
        "support_email": "phone@oms.localhost",
    },
    {
        "code": "MARKET",
        "name": "Marketplace (UK)",
        "kind": "marketplace",
        "currency": "GBP",
        "price_authority": True,
        "prices_include_tax": True,
        "shipping_flat_rate": Decimal("0"),
    },
    {
        "code": "B2B",
        "name": "Wholesale (B2B)",
        "kind": "b2b",
        "currency": "USD",
        "shipping_flat_rate": Decimal("25.00"),
        "free_shipping_threshold": Decimal("500.00"),
        "support_email": "wholesale@oms.localhost",
    },
]

WAREHOUSES = [
    {
        "code": "DC-NJ",
        "name": "East Coast DC",
        "kind": "dc",
        "line1": "300 Raritan Center Pkwy",
        "city": "Edison",
        "region": "NJ",
        "postal_code": "08837",
        "country": "US",
        "latitude": "40.518700",
        "longitude": "-74.412100",
    },
    {
        "code": "DC-NV",
        "name": "West Coast DC",
        "kind": "dc",
        "line1": "4855 Longley Ln",
        "city": "Reno",
        "region": "NV",
        "postal_code": "89502",
        "country": "US",
        "latitude": "39.482900",
        "longitude": "-119.771200",
    },
    {
        "code": "DC-NL",
        "name": "EU DC Rotterdam",
        "kind": "dc",
        "line1": "Waalhaven Zuidzijde 21",
        "city": "Rotterdam",
        "postal_code": "3089 JH",
        "country": "NL",
        "latitude": "51.884500",
        "longitude": "4.425900",
    },
    {
        "code": "DC-GB",
        "name": "UK DC Milton Keynes",
        "kind": "dc",
        "line1": "Fenny Lock",
        "city": "Milton Keynes",
        "postal_code": "MK1 1SN",
        "country": "GB",
        "latitude": "52.006100",
        "longitude": "-0.728600",
    },
    {
        "code": "STORE-NYC",
        "name": "SoHo store",
        "kind": "store",
        "line1": "120 Spring St",
        "city": "New York",
        "region": "NY",
        "postal_code": "10012",
        "country": "US",
        "latitude": "40.723700",
        "longitude": "-73.999000",
        "allows_pickup": True,
    },
    {
        "code": "STORE-LDN",
        "name": "Covent Garden store",
        "kind": "store",
        "line1": "25 Floral St",
        "city": "London",
        "postal_code": "WC2E 9DS",
        "country": "GB",
        "latitude": "51.512300",
        "longitude": "-0.124300",
        "allows_pickup": True,
    },
]

# (country, region, rate, name, applies_to_shipping)
TAX_RATES = [
    ("US", "NY", "0.08875", "NY sales tax", True),
    ("US", "NJ", "0.06625", "NJ sales tax", True),
    ("US", "CA", "0.0725", "CA sales tax", False),
    ("US", "TX", "0.0625", "TX sales tax", True),
    ("US", "WA", "0.065", "WA sales tax", True),
    ("US", "IL", "0.0625", "IL sales tax", False),
    ("US", "MA", "0.0625", "MA sales tax", False),
    ("GB", "", "0.20", "UK VAT", True),
    ("NL", "", "0.21", "NL btw", True),
    ("DE", "", "0.19", "DE USt", True),
    ("FR", "", "0.20", "FR TVA", True),
]

# Catalogue: product families and their variant axes. A SKU code is the family
# prefix plus one code per axis ("TEE-BLK-M"); an axis value may add to the price.
BLACK, WHITE, NAVY, GREY = ("BLK", "Black"), ("WHT", "White"), ("NVY", "Navy"), ("GRY", "Grey")
SIZES = [("XS", "XS"), ("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL"), ("XXL", "XXL", "2.00")]
SIZES_SHORT = [("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL")]
SHOE_SIZES = [(str(n), f"EU {n}") for n in range(39, 47)]


@dataclass(frozen=True)
class Family:
    prefix: str
    name: str
    category: str
    brand: str
    price: str  # USD list price
    weight: int  # grams
    dims: tuple[int, int, int]  # mm
    axes: tuple = ()
    description: str = ""


FAMILIES = [
    Family("TEE", "Organic Cotton Tee", "Apparel", "Northline", "24.00", 180, (300, 250, 20),
           ([BLACK, WHITE, NAVY, GREY, ("RED", "Brick red")], SIZES), "Heavyweight 200 g/m2 organic cotton."),
    Family("HOOD", "Heavyweight Hoodie", "Apparel", "Northline", "64.00", 650, (350, 300, 60),
           ([BLACK, GREY, ("OLV", "Olive")], SIZES)),
    Family("JKT", "Packable Rain Jacket", "Apparel", "Fjellmark", "129.00", 320, (250, 200, 60),
           ([BLACK, ("YEL", "Yellow")], SIZES_SHORT)),
    Family("SOCK", "Merino Hiking Socks", "Apparel", "Fjellmark", "18.00", 90, (200, 100, 30),
           ([("CHR", "Charcoal"), NAVY], [("S", "S"), ("M", "M"), ("L", "L")])),
    Family("CAP", "Canvas Baseball Cap", "Apparel", "Northline", "28.00", 110, (280, 200, 120),
           ([BLACK, ("KHK", "Khaki"), NAVY],)),
    Family("BNE", "Merino Beanie", "Apparel", "Fjellmark", "32.00", 80, (220, 180, 30),
           ([BLACK, GREY, ("MUS", "Mustard"), ("FOR", "Forest")],)),
    Family("RUN", "Trail Running Shoe", "Footwear", "Stridewell", "139.00", 620, (330, 220, 120),
           ([BLACK, ("BLU", "Ocean blue")], SHOE_SIZES)),
    Family("SNK", "Canvas Sneaker", "Footwear", "Stridewell", "69.00", 540, (320, 200, 110),
           ([WHITE, BLACK], [(str(n), f"EU {n}") for n in range(37, 46)])),
    Family("MUG", "Stoneware Mug 350 ml", "Home & Kitchen", "Hearth & Co", "16.00", 380, (120, 90, 100),
           ([WHITE, BLACK, ("SGE", "Sage"), ("TER", "Terracotta")],)),
    Family("KTL", "Gooseneck Kettle 1 L", "Home & Kitchen", "Hearth & Co", "89.00", 1100, (300, 180, 200),
           ([("MBK", "Matte black"), ("STL", "Brushed steel")],)),
    Family("KNF", "Chef's Knife 20 cm", "Home & Kitchen", "Hearth & Co", "95.00", 260, (360, 60, 30)),
    Family("PAN", "Cast Iron Skillet", "Home & Kitchen", "Hearth & Co", "45.00", 2600, (460, 280, 60),
           ([("20", "20 cm", "-10.00"), ("25", "25 cm"), ("30", "30 cm", "15.00")],)),
    Family("TWL", "Cotton Towel", "Home & Kitchen", "Hearth & Co", "22.00", 600, (300, 250, 80),
           ([WHITE, GREY, NAVY, ("SND", "Sand")], [("HND", "Hand towel", "-8.00"), ("BTH", "Bath towel")])),
    Family("CDL", "Soy Candle 200 g", "Home & Kitchen", "Hearth & Co", "26.00", 420, (100, 100, 110),
           ([("CED", "Cedar"), ("FIG", "Fig"), ("LAV", "Lavender")],)),
    Family("FPR", "French Press", "Home & Kitchen", "Hearth & Co", "34.00", 700, (200, 150, 230),
           ([("350", "350 ml", "-6.00"), ("1000", "1 L")],)),
    Family("APR", "Linen Apron", "Home & Kitchen", "Hearth & Co", "36.00", 250, (300, 250, 20),
           ([("NAT", "Natural"), ("CHR", "Charcoal"), ("RST", "Rust")],)),
    Family("POT", "Ceramic Plant Pot", "Home & Kitchen", "Hearth & Co", "18.00", 900, (180, 180, 160),
           ([("S", "12 cm"), ("M", "16 cm", "8.00"), ("L", "22 cm", "18.00")],)),
    Family("COF", "Single-Origin Coffee Beans", "Grocery", "Roastery 41", "14.00", 270, (200, 120, 70),
           ([("ETH", "Ethiopia"), ("COL", "Colombia"), ("GUA", "Guatemala")],
            [("250", "250 g"), ("1K", "1 kg", "32.00")])),
    Family("TEA", "Loose Leaf Tea 100 g", "Grocery", "Roastery 41", "12.00", 140, (150, 90, 60),
           ([("SEN", "Sencha"), ("ASM", "Assam"), ("CHM", "Chamomile")],)),
    Family("HPH", "Wireless Headphones", "Electronics", "Sonance", "199.00", 290, (220, 190, 90),
           ([BLACK, ("SLV", "Silver")],)),
    Family("EBD", "True Wireless Earbuds", "Electronics", "Sonance", "129.00", 80, (100, 80, 40),
           ([BLACK, WHITE],)),
    Family("CBL", "USB-C Cable", "Electronics", "Voltaic", "12.00", 60, (120, 80, 20),
           ([("1M", "1 m"), ("2M", "2 m", "4.00")], [BLACK, WHITE])),
    Family("CHG", "GaN Charger", "Electronics", "Voltaic", "39.00", 120, (80, 60, 40),
           ([("30W", "30 W", "-10.00"), ("65W", "65 W"), ("100W", "100 W", "20.00")],)),
    Family("SPK", "Bluetooth Speaker", "Electronics", "Sonance", "79.00", 540, (180, 80, 80),
           ([BLACK, ("BLU", "Blue"), ("RED", "Red")],)),
    Family("PWB", "Power Bank", "Electronics", "Voltaic", "45.00", 330, (150, 75, 25),
           ([("10K", "10,000 mAh"), ("20K", "20,000 mAh", "20.00")],)),
    Family("BPK", "Daypack", "Outdoor", "Fjellmark", "89.00", 850, (480, 300, 150),
           ([("20L", "20 L"), ("30L", "30 L", "20.00")], [BLACK, ("GRN", "Forest green")])),
    Family("BTL", "Insulated Bottle", "Outdoor", "Fjellmark", "32.00", 380, (280, 80, 80),
           ([("500", "500 ml"), ("750", "750 ml", "6.00")],
            [BLACK, WHITE, ("TEA", "Teal"), ("ORG", "Orange")])),
    Family("TNT", "Two-Person Tent", "Outdoor", "Fjellmark", "349.00", 2300, (550, 200, 200)),
    Family("LMP", "Rechargeable Headlamp", "Outdoor", "Fjellmark", "49.00", 110, (120, 90, 60)),
    Family("SLB", "Down Sleeping Bag", "Outdoor", "Fjellmark", "279.00", 1200, (400, 250, 250),
           ([("REG", "Regular"), ("LNG", "Long", "30.00")],)),
    Family("YGM", "Yoga Mat", "Fitness", "Kinetik", "58.00", 1800, (620, 150, 150),
           ([("4MM", "4 mm"), ("6MM", "6 mm", "10.00")], [("PLM", "Plum"), ("SGE", "Sage"), BLACK])),
    Family("DMB", "Hex Dumbbell", "Fitness", "Kinetik", "19.00", 2000, (250, 100, 100),
           ([("2KG", "2 kg", "-7.00"), ("4KG", "4 kg"), ("6KG", "6 kg", "7.00"), ("8KG", "8 kg", "14.00"),
             ("10KG", "10 kg", "21.00")],)),
    Family("RBS", "Resistance Band Set", "Fitness", "Kinetik", "29.00", 400, (200, 150, 60)),
    Family("NTB", "Dot Grid Notebook", "Stationery", "Papier", "19.00", 320, (210, 148, 15),
           ([("A5", "A5"), ("A4", "A4", "6.00")], [BLACK, ("TAN", "Tan"), ("GRN", "Green")])),
    Family("PEN", "Gel Pen", "Stationery", "Papier", "3.50", 12, (145, 12, 12),
           ([("05", "0.5 mm"), ("07", "0.7 mm")], [BLACK, ("BLU", "Blue"), ("RED", "Red")])),
    Family("ORG", "Desk Organizer", "Stationery", "Papier", "39.00", 900, (300, 200, 100)),
    Family("PZL", "Jigsaw Puzzle", "Toys & Games", "Playworks", "24.00", 700, (300, 220, 60),
           ([("500", "500 pieces"), ("1000", "1000 pieces", "6.00")],)),
    Family("BLK", "Wooden Building Blocks", "Toys & Games", "Playworks", "42.00", 1600, (300, 300, 150)),
    Family("SOAP", "Olive Oil Soap Bar", "Beauty", "Alba", "8.00", 120, (90, 60, 30),
           ([("LAV", "Lavender"), ("ROS", "Rosemary"), ("OAT", "Oat"), ("UNS", "Unscented")],)),
    Family("LIP", "Lip Balm", "Beauty", "Alba", "6.00", 15, (70, 20, 20),
           ([("ORG", "Original"), ("MNT", "Mint"), ("HNY", "Honey"), ("CHR", "Cherry")],)),
]  # fmt: skip

# Where customers live: (city, region, postal code, lat, lng); streets to combine with them.
PLACES = {
    "US": [("New York", "NY", "10001", 40.7506, -73.9972), ("Brooklyn", "NY", "11201", 40.6943, -73.9903),
           ("Jersey City", "NJ", "07302", 40.7178, -74.0431), ("Princeton", "NJ", "08540", 40.3573, -74.6672),
           ("Los Angeles", "CA", "90012", 34.0614, -118.2385), ("Austin", "TX", "78701", 30.2711, -97.7437),
           ("San Francisco", "CA", "94103", 37.7726, -122.4099), ("Houston", "TX", "77002", 29.757, -95.3625),
           ("San Diego", "CA", "92101", 32.7157, -117.1611), ("Seattle", "WA", "98101", 47.6101, -122.3344),
           ("Chicago", "IL", "60601", 41.8858, -87.6229), ("Boston", "MA", "02108", 42.3588, -71.0707),
           ("Denver", "CO", "80202", 39.7525, -104.9995), ("Portland", "OR", "97204", 45.5183, -122.6765)],
    "GB": [("London", "", "SE1 7PB", 51.5033, -0.1195), ("Manchester", "", "M1 1AE", 53.4794, -2.2453),
           ("Edinburgh", "", "EH1 1YZ", 55.9533, -3.1883), ("Bristol", "", "BS1 4DJ", 51.4545, -2.5879),
           ("Leeds", "", "LS1 4DY", 53.7997, -1.5492)],
    "NL": [("Amsterdam", "", "1016 DK", 52.3740, 4.8897), ("Utrecht", "", "3511 LX", 52.0907, 5.1214),
           ("Den Haag", "", "2513 AA", 52.0705, 4.3007), ("Eindhoven", "", "5611 EM", 51.4416, 5.4697)],
    "DE": [("Berlin", "", "10117", 52.5200, 13.4050), ("München", "", "80331", 48.1372, 11.5756),
           ("Hamburg", "", "20095", 53.5511, 9.9937), ("Köln", "", "50667", 50.9375, 6.9603)],
    "FR": [("Paris", "", "75004", 48.8566, 2.3522), ("Lyon", "", "69002", 45.7640, 4.8357),
           ("Bordeaux", "", "33000", 44.8378, -0.5792), ("Lille", "", "59000", 50.6292, 3.0573)],
}  # fmt: skip
STREETS = {
    "US": ["Main St", "Oak Ave", "Maple Dr", "Park Ave", "Elm St", "Washington St", "Lake Rd", "Hill St"],
    "GB": ["High Street", "Station Road", "Church Lane", "Victoria Road", "Park Road", "Mill Lane"],
    "NL": ["Keizersgracht", "Oudegracht", "Lange Voorhout", "Stationsplein", "Kerkstraat"],
    "DE": ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße", "Lindenallee"],
    "FR": ["Rue de Rivoli", "Rue Victor Hugo", "Avenue Jean Jaurès", "Rue de la Paix", "Boulevard Voltaire"],
}
NAMES = {
    "US": (["James", "Mary", "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Sofia", "Mason", "Maya",
            "Lucas", "Chloe", "Aiden", "Grace", "Daniel", "Zoe", "Carlos", "Priya", "Wei"],
           ["Smith", "Johnson", "Garcia", "Brown", "Miller", "Davis", "Rodriguez", "Martinez", "Lee",
            "Walker", "Patel", "Nguyen", "Kim", "Clark", "Lewis", "Young", "Chen", "Rivera"]),
    "GB": (["Oliver", "Amelia", "Harry", "Isla", "George", "Poppy", "Jack", "Freya", "Alfie", "Ellie"],
           ["Taylor", "Evans", "Thomas", "Roberts", "Wright", "Hughes", "Wood", "Hall", "Turner", "Hill"]),
    "NL": (["Daan", "Emma", "Sem", "Julia", "Lotte", "Bram", "Sanne", "Thijs"],
           ["de Jong", "Jansen", "de Vries", "van Dijk", "Bakker", "Visser", "Smit", "Meijer"]),
    "DE": (["Lukas", "Mia", "Leon", "Hannah", "Felix", "Lena", "Jonas", "Sophie"],
           ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann"]),
    "FR": (["Louis", "Léa", "Gabriel", "Chloé", "Hugo", "Manon", "Jules", "Camille"],
           ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]),
}  # fmt: skip
COMPANIES = [
    "Harbor Outfitters",
    "Summit Supply Co",
    "Bluebird Cafe Group",
    "Pinecrest Hotels",
    "Metro Gym Partners",
]
# Customers per channel: (channel, countries, how many)
CUSTOMER_PLAN = [("WEB", ["US"], 24), ("PHONE", ["US"], 6), ("B2B", ["US"], 5),
                 ("EU-WEB", ["NL", "DE", "FR"], 15), ("MARKET", ["GB"], 10)]  # fmt: skip
CHANNEL_MIX = {"WEB": 45, "EU-WEB": 20, "MARKET": 15, "PHONE": 10, "B2B": 10}
GIFT_MESSAGES = ["Happy birthday!", "Congratulations on the new place!", "Thank you for everything.",
                 "Merry Christmas from all of us", "Enjoy, and see you soon!"]  # fmt: skip
CANCEL_REASONS = ["Customer changed their mind", "Duplicate order", "Address could not be verified",
                  "Ordered the wrong size", "Found it cheaper elsewhere"]  # fmt: skip
PHONE_NOTES = ["Called in; prefers morning delivery.", "Repeat caller, asked for gift receipt.",
               "Leave with the doorman.", ""]  # fmt: skip
